# cafÃ© is fine
1 + 1
fn f(x) = x ÿş + 1
