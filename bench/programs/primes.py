# Tail calls written as the loops they denote (no tail-call elimination).
def composite(n, d):
    while True:
        if d * d > n:
            return 0
        if n % d == 0:
            return 1
        d += 2
def count(n, limit, acc):
    while n <= limit:
        acc += 1 - composite(n, 3)
        n += 2
    return acc
print(count(3, 2000000, 1))
