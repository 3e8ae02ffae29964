# args: --emit asm
# Naive recursion: a stack check on entry, a frame only on the recursive path.
fn fib(n) = if n < 2 then n else fib(n - 1) + fib(n - 2)
