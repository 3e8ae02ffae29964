fn classify(n) =
  if n < 0
  then -1
  else if n == 0 then 0
  else 1
classify(-5)
classify(0)
(1 +
 2 *
 3)
let x = 4
in x * x
fn deep(n) = if n == 0 then 0 else 1 + deep(n - 1)
deep(100000)
fn forever(n) = 1 + forever(n)
forever(0)
deep(3)
