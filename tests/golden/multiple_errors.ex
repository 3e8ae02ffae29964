# every error is reported and nothing runs
1 + 1
fn f(x) = y
fn g() = f(1, 2)
fn h(x) = x +* 2
nope(3)
