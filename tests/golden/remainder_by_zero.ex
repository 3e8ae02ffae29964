fn wrap(i, n) = i % n
wrap(7, 3)
wrap(7, 0)
