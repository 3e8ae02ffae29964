# args: --emit asm
# Trap stubs: a zero divisor and a failed stack check each jump out of line
# to a stub that calls the shared trap exit.
fn down(n) = if n == 0 then 0 else 1 + down(n - 1)
fn safe_div(a, b) = a / b + down(b)
