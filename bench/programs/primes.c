#include <stdio.h>
typedef long long i64;
static i64 composite(i64 n, i64 d) { return d * d > n ? 0 : n % d == 0 ? 1 : composite(n, d + 2); }
static i64 count(i64 n, i64 limit, i64 acc) {
    return n > limit ? acc : count(n + 2, limit, acc + 1 - composite(n, 3));
}
int main(void) { printf("%lld\n", count(3, 2000000, 1)); return 0; }
