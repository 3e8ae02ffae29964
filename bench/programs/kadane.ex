fn max(a, b) = if a > b then a else b
fn next(x) = (x * 69069 + 12345) & 0xFFFFFFFF
fn value(x) = (x >> 8) % 2001 - 1000
fn kadane(i, n, x, cur, best) =
    if i == n then best
    else let v = value(x) in
        let c = max(v, cur + v) in
        kadane(i + 1, n, next(x), c, max(best, c))
fn rounds(r, acc) = if r == 0 then acc else rounds(r - 1, acc + kadane(0, 2000, r, 0, 0))
rounds(20000, 0)
