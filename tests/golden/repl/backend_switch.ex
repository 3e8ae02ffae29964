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
# code the interpreter ran, then replaced, is compiled for the JIT as it is now
:backend interp
fn f() = 1; fn g() = f() * 10
fn f() = 2
:backend jit
g()
fn f() = 3
:backend interp
g()
