#include <stdio.h>
typedef long long i64;
static i64 max(i64 a, i64 b) { return a > b ? a : b; }
static i64 next(i64 x) { return (x * 69069 + 12345) & 0xFFFFFFFF; }
static i64 value(i64 x) { return (x >> 8) % 2001 - 1000; }
static i64 kadane(i64 i, i64 n, i64 x, i64 cur, i64 best) {
    if (i == n) return best;
    i64 v = value(x);
    i64 c = max(v, cur + v);
    return kadane(i + 1, n, next(x), c, max(best, c));
}
static i64 rounds(i64 r, i64 acc) { return r == 0 ? acc : rounds(r - 1, acc + kadane(0, 2000, r, 0, 0)); }
int main(void) { printf("%lld\n", rounds(20000, 0)); return 0; }
