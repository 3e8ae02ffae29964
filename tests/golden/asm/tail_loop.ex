# args: --emit asm
# A self tail call is a jump; the accumulator is a parameter.
fn sum_to(n, acc) = if n == 0 then acc else sum_to(n - 1, acc + n)
