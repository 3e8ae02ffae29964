fn sq(x) = x * x
fn f(x) = sq(x) + 1
f(3)
# earlier callers see the new definition
fn sq(x) = x * x * x
f(3)
:list
fn a() = 1; fn b() = a() + 1; b()
fn a() = 10; b()
