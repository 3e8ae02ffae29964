# CPython does not eliminate tail calls: the tail-recursive functions of the
# other versions are the loops they denote.
def steps(n, acc):
    while n != 1:
        n = n // 2 if n % 2 == 0 else 3 * n + 1
        acc += 1
    return acc
def total(i, limit, acc):
    while i <= limit:
        acc += steps(i, 0)
        i += 1
    return acc
print(total(1, 1000000, 0))
