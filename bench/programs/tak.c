#include <stdio.h>
static long long tak(long long x, long long y, long long z) {
    return y < x ? tak(tak(x - 1, y, z), tak(y - 1, z, x), tak(z - 1, x, y)) : z;
}
int main(void) { printf("%lld\n", tak(32, 20, 10)); return 0; }
