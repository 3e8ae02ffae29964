fn f(x) = 10 / x
:backend interp
:backend
f(2)
f(0)
fn g(n) = if n == 0 then 0 else 1 + g(n - 1)
g(1000)
:backend jit
g(1000)
:backend wasm
:backend
