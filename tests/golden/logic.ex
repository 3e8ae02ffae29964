# && and || give 0 or 1 and short-circuit; ! is logical not
1 && 1
1 && 0
5 && 7
0 || 0
0 || 9
-3 || 0
!0
!1
!-7
!!42
# the right side is not evaluated when the left decides
0 && 1 / 0
1 || 1 / 0
fn boom(x) = x / 0
0 && boom(1)
1 || boom(1)
fn either(a, b) = a || b
fn both(a, b) = a && b
either(0, 0) + either(0, 3) * 10
both(2, 3) + both(2, 0) * 10
