fn ok(n) = n
ok(1)
fn forever(n) = 1 + forever(n + 1)
forever(0)
ok(2)
