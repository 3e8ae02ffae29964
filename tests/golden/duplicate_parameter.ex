fn f(x, y, x) = x + y
