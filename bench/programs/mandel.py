# Tail calls written as the loops they denote (no tail-call elimination).
def escape(zr, zi, cr, ci, k):
    while True:
        zr2 = (zr * zr) >> 16
        zi2 = (zi * zi) >> 16
        if k == 0 or zr2 + zi2 > 262144:
            return k
        zr, zi, k = zr2 - zi2 + cr, ((zr * zi) >> 15) + ci, k - 1
def row(x, ci, size, acc):
    while x != size:
        acc += escape(0, 0, x * 196608 // size - 163840, ci, 255)
        x += 1
    return acc
def grid(y, size, acc):
    while y != size:
        acc = row(0, y * 196608 // size - 98304, size, acc)
        y += 1
    return acc
print(grid(0, 1400, 0))
