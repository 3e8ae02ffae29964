:help
:list
fn add(x, y) = x + y
fn twice(x) = add(x, x)
:list
:ast fn f(x) = if x then -x else ~x
:ast 1 + 2 * 3 < 4 && !5
:asm nothing
:asm
:bogus
:reset
:list
twice(2)
:quit
1 + 1
