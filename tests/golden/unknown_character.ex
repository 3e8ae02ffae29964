fn f(x) = x $ 2
