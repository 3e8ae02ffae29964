# Tail calls written as the loops they denote (no tail-call elimination).
def lagged(n, a, b, c, d, e, f, g, h, s):
    while n != 0:
        a, b, c, d, e, f, g, h, s = b, c, d, e, f, g, h, ((a + d * 3) ^ (g >> 2)) & 0xFFFFFFF, s + (h & 15)
        n -= 1
    return a ^ b ^ c ^ d ^ e ^ f ^ g ^ h ^ s
def rounds(r, acc):
    while r != 0:
        acc += lagged(1000, r, r + 1, r * 3, acc & 255, 5, 6, 7, 8, 0)
        r -= 1
    return acc
print(rounds(120000, 0))
