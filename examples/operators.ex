# Every operator, lowest precedence first.
fn show(a, b) = a * 1000 + b
if 1 then 2 else 3          # if/then/else
let x = 4 in x * x          # let/in
0 || 5                      # logical or: 1
3 && 0                      # logical and: 0
2 == 2                      # 1
2 != 2                      # 0
1 < 2                       # 1
2 <= 1                      # 0
3 > 2                       # 1
3 >= 4                      # 0
0b1100 | 0b0011             # 15
0b1100 ^ 0b0110             # 10
0b1100 & 0b0110             # 4
1 << 10                     # 1024
-1024 >> 3                  # -128 (arithmetic)
40 + 2                      # 42
40 - 50                     # -10
6 * 7                       # 42
-7 / 2                      # -3 (toward zero)
-7 % 2                      # -1 (sign of the dividend)
-(5)                        # -5
!0                          # 1
~0                          # -1
show(7, 9)                  # a call
