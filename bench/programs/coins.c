#include <stdio.h>
typedef long long i64;
static i64 coin(i64 k) { return k == 1 ? 1 : k == 2 ? 5 : k == 3 ? 10 : k == 4 ? 25 : k == 5 ? 50 : 100; }
static i64 ways(i64 amount, i64 k) {
    return amount == 0 ? 1 : amount < 0 || k == 0 ? 0 : ways(amount - coin(k), k) + ways(amount, k - 1);
}
int main(void) { printf("%lld\n", ways(700, 6)); return 0; }
