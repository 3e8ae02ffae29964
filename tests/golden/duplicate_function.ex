fn f(x) = x
fn f(y) = y + 1
f(1)
