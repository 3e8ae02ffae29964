fn f(x) = (x + 1
f(2)
