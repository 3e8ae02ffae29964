#include <stdio.h>
typedef long long i64;
static i64 place(i64 free, i64 cols, i64 left, i64 right, i64 all, i64 acc);
static i64 solve(i64 cols, i64 left, i64 right, i64 all) {
    return cols == all ? 1 : place(all & ~(cols | left | right), cols, left, right, all, 0);
}
static i64 place(i64 free, i64 cols, i64 left, i64 right, i64 all, i64 acc) {
    if (free == 0) return acc;
    i64 bit = free & -free;
    return place(free - bit, cols, left, right, all,
                 acc + solve(cols | bit, (left | bit) << 1, (right | bit) >> 1, all));
}
int main(void) { printf("%lld\n", solve(0, 0, 0, (1 << 14) - 1)); return 0; }
