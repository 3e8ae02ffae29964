# args: --emit asm
# Division by constants needs no zero check (shifts, magic multiplies);
# division by a variable checks for zero and traps to a stub.
fn by_eight(x) = x / 8
fn mod_neg_four(x) = x % -4
fn by_seven(x) = x / 7
fn by_var(x, y) = x / y
fn rem_var(x, y) = x % y
