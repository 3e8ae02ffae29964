# Tail calls written as the loops they denote (no tail-call elimination).
# 64-bit wrapping arithmetic by masking; a logical shift right equals
# exprjit's arithmetic shift and mask.
M = (1 << 64) - 1
def mix(z):
    a = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
    b = ((a ^ (a >> 27)) * 0x94D049BB133111EB) & M
    return b ^ (b >> 31)
def stream(i, end, acc):
    while i != end:
        acc += (mix((i * 0x9E3779B97F4A7C15) & M) >> 56) & 255
        i += 1
    return acc
def blocks(i, n, acc):
    while i < n:
        acc = stream(i, i + 1000, acc)
        i += 1000
    return acc
print(blocks(0, 100000000, 0))
