# lowest to highest: if/let, ||, &&, comparisons, |, ^, &, << >>, + -, * / %, prefix
1 + 2 * 3
(1 + 2) * 3
10 - 4 - 3
100 / 10 / 5
2 * 3 % 4
1 + 2 << 3
1 << 2 + 1
6 & 3 << 1
5 ^ 3 & 1
4 | 1 ^ 5
1 | 2 == 3
(1 < 2) == (2 < 1) || 0
0 || 1 && 0
1 == 1 && 2 == 2
-2 * 3
-(2 * 3)
!0 + 1
~1 * 2
- 3 - -3
2 - -2
if 1 then 2 else 3 + 4
if 0 then 2 else 3 + 4
let x = 1 in x + 1 * 2
(let x = 5 in x) * 2
1 + (if 1 < 2 then 10 else 20)
