#include <stdio.h>
typedef long long i64;
static i64 escape(i64 zr, i64 zi, i64 cr, i64 ci, i64 k) {
    i64 zr2 = (zr * zr) >> 16;
    i64 zi2 = (zi * zi) >> 16;
    return k == 0 || zr2 + zi2 > 262144 ? k
                                        : escape(zr2 - zi2 + cr, ((zr * zi) >> 15) + ci, cr, ci, k - 1);
}
static i64 row(i64 x, i64 ci, i64 size, i64 acc) {
    return x == size ? acc : row(x + 1, ci, size, acc + escape(0, 0, x * 196608 / size - 163840, ci, 255));
}
static i64 grid(i64 y, i64 size, i64 acc) {
    return y == size ? acc : grid(y + 1, size, row(0, y * 196608 / size - 98304, size, acc));
}
int main(void) { printf("%lld\n", grid(0, 1400, 0)); return 0; }
