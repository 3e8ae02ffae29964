# args: --emit tokens
fn f(a, b) =
  a << 2
f(0b11, 1_0)
