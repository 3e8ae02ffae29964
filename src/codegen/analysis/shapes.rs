//! The expression shapes the lowering rewrites (additive self calls,
//! remainder tests, masked shifts, constant folding, operator chains) and
//! the register-need estimates of one expression, which the lowering asks
//! at a branch or a candidate `cmov`.

use crate::ast::{BinOp, UnOp};
use crate::codegen::divide::{DivisorKind, divisor_kind};
use crate::ir::{self, Expr, FuncId, Kind};

use super::FIXED_OP_REGISTERS;

/// The left operand of the binary operation `expr`.
#[inline]
pub fn left_operand(expr: Expr<'_>) -> Expr<'_> {
    match *expr.node() {
        ir::Node::Binary { lhs, .. } => expr.sibling(lhs),
        _ => unreachable!("a binary operation"),
    }
}

/// True if `expr` is an operation that `Walk::walk` takes by its
/// general case, when not in tail position: not `&&` or `||`, a masked
/// shift, or a zero-extending mask.
#[inline(always)]
pub(super) fn in_operator_chain(expr: Expr<'_>) -> bool {
    matches!(expr.kind(), Kind::Binary { op, lhs, rhs, .. }
        if !matches!(op, BinOp::And | BinOp::Or)
            && masked_shift(op, lhs, rhs).is_none()
            && !(op == BinOp::BitAnd && rhs.int() == Some(0xFFFF_FFFF)))
}

/// The value of `expr` if it is made of literals only and the lowering
/// folds it (it does not fold `&&` and `||`), looking at a few nodes at
/// most.
pub(super) fn folded_constant(expr: Expr<'_>) -> Option<i64> {
    fn fold(expr: Expr<'_>, budget: &mut u32) -> Option<i64> {
        *budget = budget.checked_sub(1)?;
        match expr.kind() {
            Kind::Int(value) => Some(value),
            Kind::Unary { op, operand } => Some(op.apply(fold(operand, budget)?)),
            // `&&` and `||` are branches to the lowering, even on literals.
            Kind::Binary {
                op: BinOp::And | BinOp::Or,
                ..
            } => None,
            Kind::Binary { op, lhs, rhs, .. } => op.apply(fold(lhs, budget)?, fold(rhs, budget)?),
            _ => None,
        }
    }
    fold(expr, &mut 8)
}

/// `e + f(args)`, or `f(args) + e` with `e` small and unable to trap or
/// call, where `f` is `func` itself: returned, this is an accumulating
/// loop step (wrapping addition is associative and commutative, and `e`
/// is evaluated first in both forms, or cannot be told apart when it is
/// evaluated). Returns `e` and the call.
#[inline]
pub fn additive_self_call(expr: Expr<'_>, func: FuncId) -> Option<(Expr<'_>, Expr<'_>)> {
    if !matches!(expr.node(), ir::Node::Binary { op: BinOp::Add, .. }) {
        return None;
    }
    additive_self_call_of_sum(expr, func)
}

/// [`additive_self_call`] of a sum.
fn additive_self_call_of_sum(expr: Expr<'_>, func: FuncId) -> Option<(Expr<'_>, Expr<'_>)> {
    let Kind::Binary {
        op: BinOp::Add,
        lhs,
        rhs,
        ..
    } = expr.kind()
    else {
        return None;
    };
    let is_self_call = |e: Expr<'_>| e.is_call_of(func);
    if is_self_call(rhs) {
        Some((lhs, rhs))
    } else if is_self_call(lhs) && select_operand_registers(rhs).is_some() {
        Some((rhs, lhs))
    } else {
        None
    }
}

/// `x % d == 0` or `x % d != 0` (either operand order) for `d = ±2^k`, `k`
/// from 1 to 31: true exactly when the low `k` bits of `x` are zero, which
/// `test x, 2^k - 1` decides without computing the remainder. Returns `x`
/// and the mask.
#[inline]
pub fn remainder_test<'e>(op: BinOp, lhs: Expr<'e>, rhs: Expr<'e>) -> Option<(Expr<'e>, i32)> {
    if !matches!(op, BinOp::Eq | BinOp::Ne) {
        return None;
    }
    remainder_test_of_equality(lhs, rhs)
}

/// [`remainder_test`] of `==` or `!=`.
fn remainder_test_of_equality<'e>(lhs: Expr<'e>, rhs: Expr<'e>) -> Option<(Expr<'e>, i32)> {
    let remainder = match (lhs, rhs) {
        (remainder, zero) | (zero, remainder) if folded_constant(zero) == Some(0) => remainder,
        _ => return None,
    };
    let Kind::Binary {
        op: BinOp::Rem,
        lhs: x,
        rhs: divisor,
        ..
    } = remainder.kind()
    else {
        return None;
    };
    let divisor = folded_constant(divisor)?.unsigned_abs();
    if folded_constant(x).is_some()
        || !divisor.is_power_of_two()
        || !(2..=1 << 31).contains(&divisor)
    {
        return None;
    }
    Some((x, (divisor - 1) as i32))
}

/// Whether dividing by `divisor` (an expression) is a constant division
/// that needs no fixed registers and cannot trap: a power of two, `±1` or
/// `i64::MIN`, which shifts and masks compute.
fn simple_constant_divisor(divisor: Expr<'_>) -> bool {
    folded_constant(divisor)
        .is_some_and(|d| !matches!(divisor_kind(d), DivisorKind::Zero | DivisorKind::Magic(_)))
}

/// `(x >> k) & mask` (either operand order) where `mask` clears the `k` top
/// bits that the arithmetic shift fills with the sign: a logical shift
/// computes the same. Returns `x`, `k`, and the mask still to apply (`None`
/// when the logical shift alone clears exactly the bits the mask would).
#[inline]
pub fn masked_shift<'e>(
    op: BinOp,
    lhs: Expr<'e>,
    rhs: Expr<'e>,
) -> Option<(Expr<'e>, u8, Option<i64>)> {
    if op != BinOp::BitAnd {
        return None;
    }
    masked_shift_of_and(lhs, rhs)
}

/// [`masked_shift`] of an `&`.
fn masked_shift_of_and<'e>(lhs: Expr<'e>, rhs: Expr<'e>) -> Option<(Expr<'e>, u8, Option<i64>)> {
    let (shifted, mask) = match (lhs.int(), rhs.int()) {
        (_, Some(mask)) => (lhs, mask),
        (Some(mask), _) => (rhs, mask),
        _ => return None,
    };
    let Kind::Binary {
        op: BinOp::Shr,
        lhs: x,
        rhs: count,
        ..
    } = shifted.kind()
    else {
        return None;
    };
    // A constant `x` folds instead.
    let (Some(count), None) = (count.int(), folded_constant(x)) else {
        return None;
    };
    let count = (count & 63) as u8;
    let kept = u64::MAX >> count;
    if count == 0 || mask as u64 & !kept != 0 {
        return None;
    }
    Some((x, count, (mask as u64 != kept).then_some(mask)))
}

/// The registers evaluating `cond` as a branch condition needs, or `None`
/// if it may need more than registers (a call, a nested `if` or `let`, a
/// `&&`/`||` used as a number).
pub fn cond_registers(cond: Expr<'_>) -> Option<usize> {
    match cond.kind() {
        Kind::Unary {
            op: UnOp::Not,
            operand,
        } => cond_registers(operand),
        Kind::Binary {
            op: BinOp::And | BinOp::Or,
            lhs,
            rhs,
            ..
        } => Some(cond_registers(lhs)?.max(cond_registers(rhs)?)),
        Kind::Binary { op, lhs, rhs, .. } if remainder_test(op, lhs, rhs).is_some() => {
            let (x, _) = remainder_test(op, lhs, rhs).expect("matched");
            value_registers(x)
        }
        // A comparison allocates nothing itself (`cmp` reads variables and
        // immediates in place).
        Kind::Binary { op, lhs, rhs, .. } if op.is_comparison() => {
            Some(value_registers(lhs)?.max(value_registers(rhs)? + 1))
        }
        _ => Some(value_registers(cond)? + 1),
    }
}

/// For a small expression that cannot trap, call or branch (worth
/// computing even when its value is then thrown away, see the lowering's
/// `can_select`): how many registers computing it takes besides its
/// result's. `None` for anything else.
pub fn select_operand_registers(expr: Expr<'_>) -> Option<usize> {
    /// Larger branches cost more to compute both than a mispredicted jump.
    const MAX_NODES: usize = 7;
    fn walk(expr: Expr<'_>, nodes: &mut usize) -> Option<usize> {
        *nodes += 1;
        if *nodes > MAX_NODES {
            return None;
        }
        match expr.kind() {
            Kind::Int(_) | Kind::Local(_) => Some(0),
            // `!x` is a comparison with 0: its 0 or 1 takes a register of
            // its own while `x` is held.
            Kind::Unary {
                op: UnOp::Not,
                operand,
            } => Some(walk(operand, nodes)? + 1),
            Kind::Unary { operand, .. } => walk(operand, nodes),
            // Division by a power of two is shifts; by anything else it
            // may trap or ties up `rax` and `rdx`.
            Kind::Binary {
                op: BinOp::Div | BinOp::Rem,
                lhs,
                rhs,
                ..
            } if simple_constant_divisor(rhs) => walk(lhs, nodes),
            Kind::Binary {
                op: BinOp::Div | BinOp::Rem | BinOp::And | BinOp::Or,
                ..
            } => None,
            // A shift by a variable needs `rcx`, and moving a value out of
            // it takes registers the count above does not see.
            Kind::Binary {
                op: BinOp::Shl | BinOp::Shr,
                rhs,
                ..
            } if folded_constant(rhs).is_none() => None,
            // A comparison's 0 or 1 goes to a register of its own, taken
            // while both operands are held.
            Kind::Binary { op, lhs, rhs, .. } if op.is_comparison() => {
                Some(walk(lhs, nodes)?.max(walk(rhs, nodes)? + 1) + 1)
            }
            Kind::Binary { lhs, rhs, .. } => Some(walk(lhs, nodes)?.max(walk(rhs, nodes)? + 1)),
            Kind::Call { .. } | Kind::If { .. } | Kind::Let { .. } => None,
        }
    }
    walk(expr, &mut 0)
}

/// The registers evaluating `expr` as a value needs (a constant or a
/// variable none: they are read in place), if it has no calls, branches or
/// bindings; `None` otherwise.
pub fn value_registers(expr: Expr<'_>) -> Option<usize> {
    match expr.kind() {
        Kind::Int(_) | Kind::Local(_) => Some(0),
        Kind::Unary { operand, .. } => Some(value_registers(operand)? + 1),
        Kind::Binary {
            op: BinOp::And | BinOp::Or,
            ..
        } => None,
        Kind::Binary {
            op: BinOp::Div | BinOp::Rem,
            lhs,
            rhs,
            ..
        } if simple_constant_divisor(rhs) => Some(value_registers(lhs)? + 1),
        Kind::Binary { lhs, rhs, .. } => Some(
            value_registers(lhs)?
                .max(value_registers(rhs)? + 1)
                .max(FIXED_OP_REGISTERS)
                + 1,
        ),
        Kind::Call { .. } | Kind::If { .. } | Kind::Let { .. } => None,
    }
}
