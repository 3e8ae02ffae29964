# operands and arguments are evaluated left to right: the first failure wins
fn f(a, b) = a + b
fn fail(x) = x / 0
f(fail(1), 2 % 0)
