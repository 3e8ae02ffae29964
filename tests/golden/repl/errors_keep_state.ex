fn f(x) = 100 / x
f(4)
# a runtime error in an entry discards that entry's definitions
fn f(x) = x; f(1); f(0) / 0
f(4)
# so does a compile error
fn f(x) = y
f(4)
# changing the arity under a caller is refused
fn g(x) = f(x) + 1
fn f(x, y) = x
g(4)
# unless the caller is redefined in the same entry
fn f(x, y) = x; fn g(x) = f(x, 0)
g(4)
# an error inside an earlier definition points into that entry
f(0, 1) / 0
fn h(x) = 1 / x
h(0)
nope(1)
1 +* 2
