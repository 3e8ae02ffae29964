#include <stdio.h>
static long long gcd(long long a, long long b) { return b == 0 ? a : gcd(b, a % b); }
static long long row(long long a, long long b, long long n, long long acc) {
    return b > n ? acc : row(a, b + 1, n, acc + gcd(a, b));
}
static long long grid(long long a, long long n, long long acc) {
    return a > n ? acc : grid(a + 1, n, row(a, 1, n, acc));
}
int main(void) { printf("%lld\n", grid(1, 4000, 0)); return 0; }
