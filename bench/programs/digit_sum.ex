fn digits(x, acc) = if x == 0 then acc else digits(x / 10, acc + x % 10)
fn row(a, b, n, acc) = if b > n then acc else row(a, b + 1, n, acc + digits(a * b, 0))
fn grid(a, n, acc) = if a > n then acc else grid(a + 1, n, row(a, 1, n, acc))
grid(1, 7000, 0)
