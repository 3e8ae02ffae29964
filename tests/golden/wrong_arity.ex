fn add(x, y) = x + y
add(1)
add(1, 2, 3)
