# functions are visible before their definition; recursion and mutual recursion
square(12)
fn square(x) = x * x
fn is_even(n) = if n == 0 then 1 else is_odd(n - 1)
fn is_odd(n) = if n == 0 then 0 else is_even(n - 1)
is_even(10)
is_odd(7)
fn zero() = 0
zero()
fn trailing(a, b,) = a - b
trailing(10, 3,)
fn eight(a, b, c, d, e, f, g, h) = a + 2*b + 3*c + 4*d + 5*e + 6*f + 7*g + 8*h
eight(1, 2, 3, 4, 5, 6, 7, 8)
fn ten(a, b, c, d, e, f, g, h, i, j) = a - b + c - d + e - f + g - h + i - j * 1000
ten(1, 2, 3, 4, 5, 6, 7, 8, 9, 10)
fn pass(a, b, c, d, e, f, g, h) = eight(h, g, f, e, d, c, b, a)
pass(1, 2, 3, 4, 5, 6, 7, 8)
fn nested(x) = square(square(x) + square(x + 1))
nested(2)
fn fib(n) = if n < 2 then n else fib(n - 1) + fib(n - 2)
fib(20)
fn ack(m, n) = if m == 0 then n + 1 else if n == 0 then ack(m - 1, 1) else ack(m - 1, ack(m, n - 1))
ack(2, 3)
