//! Signed division by a constant without `idiv`: the rewrites the lowering
//! picks by divisor, and the magic numbers for multiply-high division.
//!
//! Every rewrite is also written here as plain Rust over the same steps the
//! machine code takes (`simulate_div`, `simulate_rem`), so the unit tests
//! check the arithmetic against `i64::wrapping_div`/`wrapping_rem` on edge
//! values independently of the encoder.

/// How to divide by a constant divisor.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum DivisorKind {
    /// Always traps.
    Zero,
    /// `x / 1 = x`, `x % 1 = 0`.
    One,
    /// `x / -1 = -x` (wrapping), `x % -1 = 0`.
    MinusOne,
    /// `±2^k` with `1 <= k <= 62`: shifts with a bias that rounds toward
    /// zero for negative dividends.
    PowerOfTwo { shift: u32, negative: bool },
    /// `i64::MIN`: the quotient is 1 only for `i64::MIN` itself.
    Min,
    /// Anything else: multiply by a magic number and keep the high half.
    Magic(Magic),
}

/// A magic number for signed division (Hacker's Delight, 2nd ed., 10-4).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Magic {
    pub multiplier: i64,
    pub shift: u32,
    /// Add (`+1`) or subtract (`-1`) the dividend after the multiply.
    pub correction: i8,
}

/// Classifies `divisor`.
pub fn divisor_kind(divisor: i64) -> DivisorKind {
    match divisor {
        0 => DivisorKind::Zero,
        1 => DivisorKind::One,
        -1 => DivisorKind::MinusOne,
        i64::MIN => DivisorKind::Min,
        d if d.unsigned_abs().is_power_of_two() => DivisorKind::PowerOfTwo {
            shift: d.unsigned_abs().trailing_zeros(),
            negative: d < 0,
        },
        d => DivisorKind::Magic(magic(d)),
    }
}

/// The magic numbers of divisors classified before, so that a divisor met
/// again (in the analysis, then the lowering, then other functions: a
/// program's divisors repeat) is not worked out again: a direct-mapped
/// table, a divisor per slot. Only what [`divisor_kind`] gives is kept.
#[derive(Clone, Debug, Default)]
pub(crate) struct DivisorCache {
    slots: Vec<Option<(i64, Magic)>>,
}

impl DivisorCache {
    const SLOTS: usize = 64;

    fn slot(divisor: i64) -> usize {
        (divisor as u64 % Self::SLOTS as u64) as usize
    }

    /// [`divisor_kind`], kept for the next time.
    pub(crate) fn kind(&mut self, divisor: i64) -> DivisorKind {
        if let Some(kind) = self.known(divisor) {
            return kind;
        }
        let kind = divisor_kind(divisor);
        if let DivisorKind::Magic(magic) = kind {
            if self.slots.is_empty() {
                self.slots.resize(Self::SLOTS, None);
            }
            self.slots[Self::slot(divisor)] = Some((divisor, magic));
        }
        kind
    }

    /// [`divisor_kind`], from the table when it holds `divisor`.
    pub(crate) fn lookup(&self, divisor: i64) -> DivisorKind {
        self.known(divisor).unwrap_or_else(|| divisor_kind(divisor))
    }

    fn known(&self, divisor: i64) -> Option<DivisorKind> {
        match self.slots.get(Self::slot(divisor)) {
            Some(&Some((key, magic))) if key == divisor => Some(DivisorKind::Magic(magic)),
            _ => None,
        }
    }
}

/// The magic number for `divisor` (`|divisor| >= 3`, not a power of two).
fn magic(divisor: i64) -> Magic {
    const TWO63: u64 = 1 << 63;
    let ad = divisor.unsigned_abs();
    let t = TWO63 + ((divisor as u64) >> 63);
    let anc = t - 1 - t % ad;
    let mut p = 63u32;
    let mut q1 = TWO63 / anc;
    let mut r1 = TWO63 - q1 * anc;
    let mut q2 = TWO63 / ad;
    let mut r2 = TWO63 - q2 * ad;
    loop {
        p += 1;
        q1 = q1.wrapping_mul(2);
        r1 = r1.wrapping_mul(2);
        if r1 >= anc {
            q1 = q1.wrapping_add(1);
            r1 -= anc;
        }
        q2 = q2.wrapping_mul(2);
        r2 = r2.wrapping_mul(2);
        if r2 >= ad {
            q2 = q2.wrapping_add(1);
            r2 -= ad;
        }
        let delta = ad - r2;
        if !(q1 < delta || (q1 == delta && r1 == 0)) {
            break;
        }
    }
    let mut multiplier = q2.wrapping_add(1) as i64;
    if divisor < 0 {
        multiplier = multiplier.wrapping_neg();
    }
    let correction = if divisor > 0 && multiplier < 0 {
        1
    } else if divisor < 0 && multiplier > 0 {
        -1
    } else {
        0
    };
    Magic {
        multiplier,
        shift: p - 64,
        correction,
    }
}

#[cfg(test)]
/// `x / divisor` computed the way the generated code does (`None` for 0).
pub fn simulate_div(x: i64, divisor: i64) -> Option<i64> {
    Some(match divisor_kind(divisor) {
        DivisorKind::Zero => return None,
        DivisorKind::One => x,
        DivisorKind::MinusOne => x.wrapping_neg(),
        DivisorKind::Min => i64::from(x == i64::MIN),
        DivisorKind::PowerOfTwo { shift, negative } => {
            let bias = ((x >> 63) as u64 >> (64 - shift)) as i64;
            let q = x.wrapping_add(bias) >> shift;
            if negative { q.wrapping_neg() } else { q }
        }
        DivisorKind::Magic(m) => magic_quotient(x, m),
    })
}

#[cfg(test)]
/// `x % divisor` computed the way the generated code does (`None` for 0).
pub fn simulate_rem(x: i64, divisor: i64) -> Option<i64> {
    Some(match divisor_kind(divisor) {
        DivisorKind::Zero => return None,
        DivisorKind::One | DivisorKind::MinusOne => 0,
        DivisorKind::Min => {
            if x == i64::MIN {
                0
            } else {
                x
            }
        }
        DivisorKind::PowerOfTwo { shift, .. } => {
            let bias = ((x >> 63) as u64 >> (64 - shift)) as i64;
            let rounded = (x.wrapping_add(bias) >> shift) << shift;
            x.wrapping_sub(rounded)
        }
        DivisorKind::Magic(m) => x.wrapping_sub(magic_quotient(x, m).wrapping_mul(divisor)),
    })
}

#[cfg(test)]
/// The magic-number quotient, step by step as emitted: high half of the
/// product, correction, arithmetic shift, then +1 if the result is negative.
fn magic_quotient(x: i64, m: Magic) -> i64 {
    let mut q = ((i128::from(x) * i128::from(m.multiplier)) >> 64) as i64;
    match m.correction {
        1 => q = q.wrapping_add(x),
        -1 => q = q.wrapping_sub(x),
        _ => {}
    }
    q >>= m.shift;
    q.wrapping_add(((q as u64) >> 63) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EDGES: [i64; 16] = [
        0,
        1,
        -1,
        2,
        -2,
        7,
        -7,
        10,
        -10,
        i64::MAX,
        i64::MIN,
        i64::MAX - 1,
        i64::MIN + 1,
        1 << 62,
        -(1 << 62),
        1234567890123,
    ];

    fn divisors() -> Vec<i64> {
        let mut divisors: Vec<i64> = (-70..=70).collect();
        for k in 1..63 {
            divisors.extend([1i64 << k, -(1i64 << k), (1i64 << k) + 1, (1i64 << k) - 1]);
        }
        divisors.extend([i64::MIN, i64::MAX, i64::MIN + 1, 1_000_000_007, -641]);
        divisors
    }

    fn dividends() -> Vec<i64> {
        let mut xs: Vec<i64> = (-300..=300).collect();
        xs.extend(EDGES);
        for k in 0..63 {
            xs.extend([1i64 << k, -(1i64 << k), (1i64 << k) - 1, -(1i64 << k) + 1]);
        }
        // A cheap deterministic spread over the whole range.
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..2000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            xs.push(state as i64);
        }
        xs
    }

    #[test]
    fn every_rewrite_matches_wrapping_division() {
        let xs = dividends();
        for d in divisors() {
            for &x in &xs {
                if d == 0 {
                    assert_eq!(simulate_div(x, d), None);
                    continue;
                }
                assert_eq!(simulate_div(x, d), Some(x.wrapping_div(d)), "{x} / {d}");
                assert_eq!(simulate_rem(x, d), Some(x.wrapping_rem(d)), "{x} % {d}");
            }
        }
    }

    #[test]
    fn known_magic_numbers() {
        // Hacker's Delight table 10-2 (64-bit column).
        assert_eq!(
            magic(7),
            Magic {
                multiplier: 0x4924924924924925,
                shift: 1,
                correction: 0
            }
        );
        assert_eq!(
            magic(3),
            Magic {
                multiplier: 0x5555555555555556,
                shift: 0,
                correction: 0
            }
        );
        assert_eq!(magic(10).multiplier, 0x6666666666666667);
        assert_eq!(magic(10).shift, 2);
    }
}
