# args: --emit asm
# An if whose condition is a comparison and whose branches are small and
# cannot trap compiles to cmp + cmov; one that can trap keeps its branch.
fn max(a, b) = if a > b then a else b
fn pick(a, b) = if a == b then a - b else b * 2 + a
fn guarded(a, b) = if b == 0 then 0 else a / b
