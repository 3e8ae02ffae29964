# if evaluates only the chosen branch; let bindings shadow outer names
if 1 then 10 else 1 / 0
if 0 then 1 / 0 else 20
if -1 then 1 else 2
let x = 3 in let y = x * 2 in x + y
let x = 1 in let x = x + 10 in x
let x = 1 in (let x = 2 in x) + x
fn f(x) = let x = x * 100 in x + 1
f(3)
fn g(n) = let a = n + 1 in let b = a * a in if b > 50 then b else a
g(3)
g(9)
if if 1 then 0 else 1 then 5 else 6
let v = if 0 then 1 else 2 in v * 7
