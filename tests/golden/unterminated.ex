fn f(x) = x *
