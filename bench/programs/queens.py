# Tail calls written as the loops they denote (no tail-call elimination).
def solve(cols, left, right, all_):
    return 1 if cols == all_ else place(all_ & ~(cols | left | right), cols, left, right, all_, 0)
def place(free, cols, left, right, all_, acc):
    while free != 0:
        bit = free & -free
        acc += solve(cols | bit, (left | bit) << 1, (right | bit) >> 1, all_)
        free -= bit
    return acc
print(solve(0, 0, 0, (1 << 14) - 1))
