# Tail calls written as the loops they denote (no tail-call elimination).
def gcd(a, b):
    while b != 0:
        a, b = b, a % b
    return a
def row(a, b, n, acc):
    while b <= n:
        acc += gcd(a, b)
        b += 1
    return acc
def grid(a, n, acc):
    while a <= n:
        acc = row(a, 1, n, acc)
        a += 1
    return acc
print(grid(1, 4000, 0))
