#include <stdio.h>
static long long steps(long long n, long long acc) {
    return n == 1 ? acc : steps(n % 2 == 0 ? n / 2 : 3 * n + 1, acc + 1);
}
static long long total(long long i, long long limit, long long acc) {
    return i > limit ? acc : total(i + 1, limit, acc + steps(i, 0));
}
int main(void) { printf("%lld\n", total(1, 1000000, 0)); return 0; }
