# Euclid's algorithm, and the sum of gcd(a, b) over a 300 x 300 grid.
fn gcd(a, b) = if b == 0 then a else gcd(b, a % b)
gcd(1071, 462)
gcd(-48, 18)
fn row(a, b, n, acc) = if b > n then acc else row(a, b + 1, n, acc + gcd(a, b))
fn grid(a, n, acc) = if a > n then acc else grid(a + 1, n, row(a, 1, n, acc))
grid(1, 300, 0)
