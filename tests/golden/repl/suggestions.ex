fn fib(n) = if n < 2 then n else fib(n - 1) + fib(n - 2)
fbi(10)
fib(1, 2)
fib(10)
:asm fbi
:lsit
