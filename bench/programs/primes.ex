fn composite(n, d) =
    if d * d > n then 0
    else if n % d == 0 then 1
    else composite(n, d + 2)
fn count(n, limit, acc) =
    if n > limit then acc
    else count(n + 2, limit, acc + 1 - composite(n, 3))
count(3, 2000000, 1)
