//! What the lowering needs to know about a function before it emits the
//! prologue ([`Facts`]): whether it calls (so values must survive calls),
//! whether it uses the instructions tied to `rax`/`rcx`/`rdx`, how many
//! stack arguments its calls pass, and bounds on how many registers it
//! needs at once (to decide whether it can run without a frame); and the
//! same register-need estimates for one expression, which the lowering
//! asks at a branch or a candidate `cmov` ([`cond_registers`],
//! [`value_registers`], [`select_operand_registers`]).
//!
//! The estimates are upper bounds; the lowering stays correct when they are
//! wrong (it retries with a frame), they only decide what it tries first.

use crate::abi::{REGISTER_ARGS, stack_arg_count};
use crate::ast::{BinOp, UnOp};
use crate::codegen::divide::{DivisorKind, divisor_kind};
use crate::ir::{self, Expr};

/// The fewest registers a binary operation is counted as needing: division
/// ties up `rax` and `rdx` besides its result, and evicting a value from
/// them takes another.
const BINARY_OP_REGISTERS: usize = 3;

/// Facts about one function's body.
#[derive(Clone, Debug, Default)]
pub struct Facts {
    /// Some call is not in tail position (values must survive it).
    pub non_tail_calls: bool,
    /// Some call is in tail position.
    pub tail_calls: bool,
    /// Some operation needs `rax`, `rcx` or `rdx` in particular (division
    /// by a variable or by a magic-number constant, shift by a variable).
    pub uses_fixed_regs: bool,
    /// The most stack arguments (past the sixth) of any non-tail call.
    pub call_stack_args: usize,
    /// The most stack arguments of any tail call.
    pub tail_stack_args: usize,
    /// The most values waiting on the operand stack at a non-tail call.
    pub pending_at_call: usize,
    /// An upper bound of the registers the body needs at once, besides the
    /// parameters.
    pub registers: usize,
    /// An upper bound of the values that need a register nothing else
    /// disturbs (`let` bindings, values waiting across a branch).
    pub stable: usize,
    /// The number of `let` bindings.
    pub lets: usize,
}

impl Facts {
    /// Walks `func`'s body once.
    pub fn of(func: &ir::Func, program: &ir::Program) -> Facts {
        let mut facts = Facts::default();
        facts.registers = facts.walk(&func.body, true, 0, 0, program);
        facts
    }

    /// Returns the registers `expr` needs; `pending` values wait below it on
    /// the operand stack and `lets` bindings are live.
    fn walk(
        &mut self,
        expr: &Expr,
        tail: bool,
        pending: usize,
        lets: usize,
        program: &ir::Program,
    ) -> usize {
        match expr {
            Expr::Int(_) | Expr::Local(_) => 1,
            Expr::Unary { op, operand } => {
                let need = self.walk(operand, false, pending, lets, program);
                if *op == UnOp::Not {
                    self.stable = self.stable.max(pending + lets);
                }
                need.max(1)
            }
            Expr::Binary { op, lhs, rhs, .. } => {
                match op {
                    BinOp::Div | BinOp::Rem => {
                        let simple = matches!(
                            &**rhs,
                            Expr::Int(d) if !matches!(divisor_kind(*d), DivisorKind::Magic(_))
                        );
                        self.uses_fixed_regs |= !simple;
                    }
                    BinOp::Shl | BinOp::Shr => {
                        self.uses_fixed_regs |= !matches!(&**rhs, Expr::Int(_))
                    }
                    BinOp::And | BinOp::Or => self.stable = self.stable.max(pending + lets),
                    _ => {}
                }
                let left = self.walk(lhs, false, pending, lets, program);
                let right = self.walk(rhs, false, pending + 1, lets, program);
                left.max(right + 1).max(BINARY_OP_REGISTERS)
            }
            Expr::If {
                cond,
                then_branch,
                else_branch,
            } => {
                self.stable = self.stable.max(pending + lets);
                let c = self.walk(cond, false, pending, lets, program);
                let t = self.walk(then_branch, tail, pending, lets, program);
                let e = self.walk(else_branch, tail, pending, lets, program);
                c.max(t).max(e).max(2)
            }
            Expr::Let { value, body, .. } => {
                self.lets += 1;
                self.stable = self.stable.max(pending + lets + 1);
                let v = self.walk(value, false, pending, lets, program);
                let b = self.walk(body, tail, pending, lets + 1, program);
                v.max(b + 1)
            }
            Expr::Call { func, args } => {
                let stack_args = stack_arg_count(program.funcs[*func].arity);
                if tail {
                    self.tail_calls = true;
                    self.tail_stack_args = self.tail_stack_args.max(stack_args);
                } else {
                    self.non_tail_calls = true;
                    self.call_stack_args = self.call_stack_args.max(stack_args);
                    self.pending_at_call = self.pending_at_call.max(pending);
                }
                let mut need = args.len().min(REGISTER_ARGS);
                for (index, arg) in args.iter().enumerate() {
                    need = need.max(index + self.walk(arg, false, pending + index, lets, program));
                }
                need + 1
            }
        }
    }
}

/// The registers evaluating `cond` as a branch condition needs, or `None`
/// if it may need more than registers (a call, a nested `if` or `let`, a
/// `&&`/`||` used as a number).
pub fn cond_registers(cond: &Expr) -> Option<usize> {
    match cond {
        Expr::Unary {
            op: UnOp::Not,
            operand,
        } => cond_registers(operand),
        Expr::Binary {
            op: BinOp::And | BinOp::Or,
            lhs,
            rhs,
            ..
        } => Some(cond_registers(lhs)?.max(cond_registers(rhs)?)),
        // A comparison allocates nothing itself (`cmp` reads variables and
        // immediates in place).
        Expr::Binary { op, lhs, rhs, .. } if op.is_comparison() => {
            Some(value_registers(lhs)?.max(value_registers(rhs)? + 1))
        }
        _ => Some(value_registers(cond)? + 1),
    }
}

/// For a small expression that cannot trap, call or branch (worth
/// computing even when its value is then thrown away, see the lowering's
/// `can_select`): how many registers computing it takes besides its
/// result's. `None` for anything else.
pub fn select_operand_registers(expr: &Expr) -> Option<usize> {
    /// Larger branches cost more to compute both than a mispredicted jump.
    const MAX_NODES: usize = 7;
    fn walk(expr: &Expr, nodes: &mut usize) -> Option<usize> {
        *nodes += 1;
        if *nodes > MAX_NODES {
            return None;
        }
        match expr {
            Expr::Int(_) | Expr::Local(_) => Some(0),
            Expr::Unary { operand, .. } => walk(operand, nodes),
            Expr::Binary {
                op: BinOp::Div | BinOp::Rem | BinOp::And | BinOp::Or,
                ..
            } => None,
            Expr::Binary { lhs, rhs, .. } => Some(walk(lhs, nodes)?.max(walk(rhs, nodes)? + 1)),
            Expr::Call { .. } | Expr::If { .. } | Expr::Let { .. } => None,
        }
    }
    walk(expr, &mut 0)
}

/// The registers evaluating `expr` as a value needs (a constant or a
/// variable none: they are read in place), if it has no calls, branches or
/// bindings; `None` otherwise.
pub fn value_registers(expr: &Expr) -> Option<usize> {
    match expr {
        Expr::Int(_) | Expr::Local(_) => Some(0),
        Expr::Unary { operand, .. } => Some(value_registers(operand)? + 1),
        Expr::Binary {
            op: BinOp::And | BinOp::Or,
            ..
        } => None,
        Expr::Binary { lhs, rhs, .. } => Some(
            value_registers(lhs)?
                .max(value_registers(rhs)? + 1)
                .max(BINARY_OP_REGISTERS)
                + 1,
        ),
        Expr::Call { .. } | Expr::If { .. } | Expr::Let { .. } => None,
    }
}
