//! The one list of edge values.

/// Integers at the corners of exprjit's integer semantics and of the code
/// generator's rewrites: the union of the lists the differential test, the
/// fuzz target and the rewrite tests used to keep, without duplicates. The
/// renderer draws constants from it (and fills missing arguments with it);
/// the rewrite tests run every operator over every pair of it.
pub const EDGES: [i64; 35] = [
    // Identities and absorbing values: `x + 0`, `x * 1`, `x * 0`, `x / 1`,
    // `x / -1` (with `i64::MIN / -1`, which must not trap), division and
    // remainder by zero, `!0`, the truth values of `&&` and `||`.
    0,
    1,
    -1,
    // Powers of two, positive and negative: multiplication as a shift,
    // division and remainder as shifts with the rounding fix-up for
    // negative dividends, masks.
    2,
    -2,
    16,
    -16,
    // Divisors that division by a constant turns into a multiply-high by a
    // magic number (with and without the add fix-up, negative divisors,
    // large ones).
    3,
    -3,
    7,
    -7,
    10,
    -10,
    -641,
    1000,
    1_000_000_007,
    // Shift counts around the word size: counts are taken modulo 64.
    63,
    64,
    65,
    -64,
    // 8-bit immediate boundaries (and the byte mask).
    127,
    128,
    -129,
    255,
    // 32-bit immediate boundaries: a sign-extended imm32 ends here, larger
    // constants need a 64-bit move.
    1 << 31,
    -(1 << 31),
    (1 << 31) - 1,
    1 << 32,
    // Overflow: the extremes and their neighbours, wrapping `+`, `-`, `*`,
    // negation and `i64::MIN % -1`.
    1 << 62,
    i64::MAX,
    i64::MAX - 1,
    i64::MIN,
    i64::MIN + 1,
    // Bit patterns that are neither small nor a power of two, so that
    // bitwise operators and multiplications mix every bit.
    0x5555_5555_5555_5555,
    -0x0123_4567_89ab_cdef,
];

#[cfg(test)]
mod tests {
    use super::EDGES;

    #[test]
    fn edges_have_no_duplicates() {
        for (index, value) in EDGES.iter().enumerate() {
            assert!(!EDGES[..index].contains(value), "{value} is listed twice");
        }
    }
}
