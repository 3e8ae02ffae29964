# args: --emit ast
fn fib(n) = if n < 2 then n else fib(n - 1) + fib(n - 2)
let x = -3 in !x || ~x & 0xff
