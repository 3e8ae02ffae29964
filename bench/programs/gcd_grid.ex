fn gcd(a, b) = if b == 0 then a else gcd(b, a % b)
fn row(a, b, n, acc) = if b > n then acc else row(a, b + 1, n, acc + gcd(a, b))
fn grid(a, n, acc) = if a > n then acc else grid(a + 1, n, row(a, 1, n, acc))
grid(1, 4000, 0)
