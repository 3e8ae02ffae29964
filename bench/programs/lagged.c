#include <stdio.h>
typedef long long i64;
static i64 lagged(i64 n, i64 a, i64 b, i64 c, i64 d, i64 e, i64 f, i64 g, i64 h, i64 s) {
    return n == 0 ? (a ^ b ^ c ^ d ^ e ^ f ^ g ^ h ^ s)
                  : lagged(n - 1, b, c, d, e, f, g, h, ((a + d * 3) ^ (g >> 2)) & 0xFFFFFFF, s + (h & 15));
}
static i64 rounds(i64 r, i64 acc) {
    return r == 0 ? acc : rounds(r - 1, acc + lagged(1000, r, r + 1, r * 3, acc & 255, 5, 6, 7, 8, 0));
}
int main(void) { printf("%lld\n", rounds(120000, 0)); return 0; }
