fn f(x) = x + y
fn g(n) = let a = 1 in b
fn h(x) = h
