# `/` truncates toward zero; `%` takes the sign of the dividend
7 / 2
-7 / 2
7 / -2
-7 / -2
7 % 3
-7 % 3
7 % -3
-7 % -3
0 / 5
# the one overflowing case wraps instead of trapping
-9223372036854775808 / -1
-9223372036854775808 % -1
fn div(a, b) = a / b
fn rem(a, b) = a % b
div(-9223372036854775808, -1)
rem(-9223372036854775808, -1)
div(9223372036854775807, -1)
div(-9223372036854775808, 2)
rem(-9223372036854775807, 10)
div(100, 7)
rem(100, 7)
