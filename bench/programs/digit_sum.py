# Tail calls written as the loops they denote (no tail-call elimination).
def digits(x, acc):
    while x != 0:
        acc += x % 10
        x //= 10
    return acc
def row(a, b, n, acc):
    while b <= n:
        acc += digits(a * b, 0)
        b += 1
    return acc
def grid(a, n, acc):
    while a <= n:
        acc = row(a, 1, n, acc)
        a += 1
    return acc
print(grid(1, 7000, 0))
