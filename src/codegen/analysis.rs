//! What the lowering needs to know about a function before it emits the
//! prologue: whether it calls (so values must survive calls), whether it
//! uses the instructions tied to `rax`/`rcx`/`rdx`, how many stack
//! arguments its calls pass, and bounds on how many registers it needs at
//! once (to decide whether it can run without a frame).

use crate::ast::{BinOp, UnOp};
use crate::codegen::divide::{DivisorKind, divisor_kind};
use crate::ir::{self, Expr};

/// Facts about one function's body.
#[derive(Clone, Debug, Default)]
pub struct Facts {
    /// Some call is not in tail position.
    pub calls: bool,
    /// Some call is in tail position.
    pub tail_calls: bool,
    /// Some operation needs `rax`, `rcx` or `rdx` in particular (division
    /// by a variable or by a magic-number constant, shift by a variable).
    pub fixed_regs: bool,
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
                        self.fixed_regs |= !simple;
                    }
                    BinOp::Shl | BinOp::Shr => self.fixed_regs |= !matches!(&**rhs, Expr::Int(_)),
                    BinOp::And | BinOp::Or => self.stable = self.stable.max(pending + lets),
                    _ => {}
                }
                let left = self.walk(lhs, false, pending, lets, program);
                let right = self.walk(rhs, false, pending + 1, lets, program);
                left.max(right + 1).max(3)
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
                let stack_args = program.funcs[*func].arity.saturating_sub(6);
                if tail {
                    self.tail_calls = true;
                    self.tail_stack_args = self.tail_stack_args.max(stack_args);
                } else {
                    self.calls = true;
                    self.call_stack_args = self.call_stack_args.max(stack_args);
                    self.pending_at_call = self.pending_at_call.max(pending);
                }
                let mut need = args.len().min(6);
                for (index, arg) in args.iter().enumerate() {
                    need = need.max(index + self.walk(arg, false, pending + index, lets, program));
                }
                need + 1
            }
        }
    }
}
