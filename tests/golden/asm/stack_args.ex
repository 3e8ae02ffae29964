# args: --emit asm
# Arguments past the sixth go on the stack; the callee pops them (ret imm16).
fn many(a, b, c, d, e, f, g, h) = a + b + c + d + e + f + g * h
fn caller(x) = many(x, 1, 2, 3, 4, 5, 6, 7) + 1
fn tail_caller(x, y) = many(y, x, 2, 3, 4, 5, 6, x)
