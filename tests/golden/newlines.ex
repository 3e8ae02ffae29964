# a newline ends an item only where the item could end
fn long(a, b) =
    a * 100
    + b
long(1, 2)
fn pick(c) =
    if c
    then 10
    else 20
pick(0)
(1
 + 2)
let x = 5
in x * x
1 +

  2
3 *
4
# a line starting with - begins a new item
7
-8
fn k(x) = x
  # comments between continued lines are ignored
  || 0
k(3)
1; 2; 3
;; 4 ;
