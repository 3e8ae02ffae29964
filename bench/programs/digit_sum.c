#include <stdio.h>
static long long digits(long long x, long long acc) { return x == 0 ? acc : digits(x / 10, acc + x % 10); }
static long long row(long long a, long long b, long long n, long long acc) {
    return b > n ? acc : row(a, b + 1, n, acc + digits(a * b, 0));
}
static long long grid(long long a, long long n, long long acc) {
    return a > n ? acc : grid(a + 1, n, row(a, 1, n, acc));
}
int main(void) { printf("%lld\n", grid(1, 7000, 0)); return 0; }
