fn steps(n, acc) =
    if n == 1 then acc
    else steps(if n % 2 == 0 then n / 2 else 3 * n + 1, acc + 1)
fn total(i, limit, acc) =
    if i > limit then acc
    else total(i + 1, limit, acc + steps(i, 0))
total(1, 1000000, 0)
