# a definition may call a function no entry has defined yet
fn h(x) = later(x) + 1
fn k(x) = h(x) * 2 + also_later(x, x)
h(1)
k(1)
# its first call fixes the number of arguments
fn wrong(x) = later(x, 1)
fn later(x) = x * 10
h(1)
k(1)
fn also_later(a, b) = a - b
k(1)
# an earlier caller, in its own entry or another, sees a redefinition
fn later(x) = x * 100
h(1)
k(3)
# a redefinition with another number of parameters is refused while called
fn later(x, y) = x
# mutual recursion across entries, through the table, in tail position
fn is_even(n) = if n == 0 then 1 else is_odd(n - 1)
fn is_odd(n) = if n == 0 then 0 else is_even(n - 1)
is_even(1000001)
# a failed entry leaves the session as it was
fn later(x) = x / 0; h(1)
h(1)
:list
# a call of an undefined name close to a defined one may be a typo
fn fib(n) = if n < 2 then n else fib(n - 1) + fib(n - 2)
fn g(x) = fbi(x) + 1
