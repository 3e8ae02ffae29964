fn lagged(n, a, b, c, d, e, f, g, h, s) =
    if n == 0 then a ^ b ^ c ^ d ^ e ^ f ^ g ^ h ^ s
    else lagged(n - 1, b, c, d, e, f, g, h, ((a + d * 3) ^ (g >> 2)) & 0xFFFFFFF, s + (h & 15))
fn rounds(r, acc) =
    if r == 0 then acc
    else rounds(r - 1, acc + lagged(1000, r, r + 1, r * 3, acc & 255, 5, 6, 7, 8, 0))
rounds(120000, 0)
