# args: --check
fn f(x) = x / 0
f(1)
