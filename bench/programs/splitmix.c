#include <stdio.h>
typedef long long i64;
typedef unsigned long long u64;
/* Multiplications wrap (unsigned); `>>` of a signed value is arithmetic in gcc, as in exprjit. */
static i64 mix(i64 z) {
    i64 a = (i64)((u64)(z ^ ((z >> 30) & 0x3FFFFFFFFLL)) * 0xBF58476D1CE4E5B9ULL);
    i64 b = (i64)((u64)(a ^ ((a >> 27) & 0x1FFFFFFFFFLL)) * 0x94D049BB133111EBULL);
    return b ^ ((b >> 31) & 0x1FFFFFFFFLL);
}
static i64 stream(i64 i, i64 end, i64 acc) {
    return i == end ? acc : stream(i + 1, end, acc + ((mix((i64)((u64)i * 0x9E3779B97F4A7C15ULL)) >> 56) & 255));
}
static i64 blocks(i64 i, i64 n, i64 acc) { return i >= n ? acc : blocks(i + 1000, n, stream(i, i + 1000, acc)); }
int main(void) { printf("%lld\n", blocks(0, 100000000, 0)); return 0; }
