# Tail calls written as the loops they denote (no tail-call elimination).
def max_(a, b):
    return a if a > b else b
def next_(x):
    return (x * 69069 + 12345) & 0xFFFFFFFF
def value(x):
    return (x >> 8) % 2001 - 1000
def kadane(i, n, x, cur, best):
    while i != n:
        v = value(x)
        c = max_(v, cur + v)
        i, x, cur, best = i + 1, next_(x), c, max_(best, c)
    return best
def rounds(r, acc):
    while r != 0:
        acc += kadane(0, 2000, r, 0, 0)
        r -= 1
    return acc
print(rounds(20000, 0))
