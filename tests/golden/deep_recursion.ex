# non-tail recursion a million deep works
fn depth(n) = if n == 0 then 0 else 1 + depth(n - 1)
depth(1000000)
fn sum(n) = if n == 0 then 0 else n + sum(n - 1)
sum(1000000)
