//! Conditions: comparisons as `cmp`/`test` with the condition they set,
//! branches on them (short-circuiting `&&` and `||`), comparisons as 0/1
//! values, and `if` as `cmov` when both sides are cheap and cannot trap.

use super::FuncLowering;
use crate::ast::{BinOp, UnOp};
use crate::codegen::analysis::{
    cond_registers, remainder_test, select_operand_registers, value_registers,
};
use crate::codegen::regs::{RegSet, SCRATCH, Src, Val};
use crate::codegen::x64::{Cond, Label};
use crate::ir;

impl FuncLowering<'_> {
    /// Before a branch whose jumps must all see the same frame state as
    /// their target: sets the frame up first unless the condition surely
    /// cannot set it up (no call, `if`, `let` or value `&&`/`||`, and
    /// registers to spare).
    pub(super) fn prepare_branch_frame(&mut self, cond: ir::Expr<'_>) {
        let free = self.free_pool_registers();
        if cond_registers(cond).is_none_or(|need| need + 1 > free) {
            self.ensure_frame();
        }
    }

    /// True if `if cond then a else b` can be computed without a branch:
    /// the condition is a comparison, both branches are small and cannot
    /// trap or call, and there are registers enough that nothing is spilled
    /// (so no instruction between the `cmp` and the `cmov` touches the
    /// flags or the frame). A branch on data is mispredicted half the time;
    /// computing both sides of a cheap `if` and picking one is faster.
    pub(super) fn can_select(
        &self,
        cond: ir::Expr<'_>,
        then_branch: ir::Expr<'_>,
        else_branch: ir::Expr<'_>,
    ) -> bool {
        let ir::Kind::Binary { op, lhs, rhs, .. } = cond.kind() else {
            return false;
        };
        if !op.is_comparison() || self.shape.no_selects {
            return false;
        }
        // The condition's operands, too, must not move values out of
        // fixed registers between the branches and the `cmov`.
        let operands = match remainder_test(op, lhs, rhs) {
            Some((x, _)) => [x, x],
            None => [lhs, rhs],
        };
        if operands
            .iter()
            .any(|&e| select_operand_registers(e).is_none())
        {
            return false;
        }
        // The `then` value is held in its own register while the `else`
        // value (in a register of its own unless it is a variable, read
        // where it lives) and then the condition are computed; the compare
        // reads its operands in place.
        let in_register = |expr: ir::Expr<'_>| match expr.kind() {
            ir::Kind::Local(local) => {
                matches!(
                    self.src(self.read_local(self.site.local_base + local)),
                    Src::Reg(_)
                )
            }
            _ => false,
        };
        let held_else = usize::from(!in_register(else_branch));
        let held = 1 + held_else;
        let operands = match remainder_test(op, lhs, rhs) {
            Some((x, _)) => value_registers(x).map(|n| held + n),
            None => value_registers(lhs).and_then(|left| {
                let right = value_registers(rhs)?;
                Some((held + left).max(held + left.min(1) + right))
            }),
        };
        let need = [
            select_operand_registers(then_branch).map(|n| n + 1),
            select_operand_registers(else_branch).map(|n| 1 + n + held_else),
            operands,
        ]
        .into_iter()
        .try_fold(0, |most, need| Some(need?.max(most)));
        need.is_some_and(|need| need <= self.free_pool_registers())
    }

    /// `if cond then a else b` as both values and a `cmov` (see
    /// [`Self::can_select`]). Evaluating the branches before the condition
    /// is unobservable: they cannot fail or have effects.
    // Out of line: inlined, its state (branch snapshots, argument
    // lists) would sit in the frame of every level of the visitor's
    // recursion (`expr_kind`: 312 bytes with it, 152 without).
    #[inline(never)]
    pub(super) fn select(
        &mut self,
        cond: ir::Expr<'_>,
        then_branch: ir::Expr<'_>,
        else_branch: ir::Expr<'_>,
    ) {
        let ir::Kind::Binary { op, lhs, rhs, .. } = cond.kind() else {
            unreachable!("can_select admits only comparisons")
        };
        // The `then` value becomes the result; the `else` value is only
        // read by the `cmov`, so a variable's register serves as it is.
        self.expr(then_branch);
        let val = self.values.pop();
        let result = self.owned(val, RegSet::EMPTY);
        self.values.push(Val::Reg(result));
        self.expr(else_branch);
        let val = self.values.pop();
        let (else_reg, to_free) = self.readable(val, RegSet::EMPTY);
        self.values.push(to_free);
        let outcome = self.compare_exprs(op, lhs, rhs);
        let (after, result_after) = (self.values.pop(), self.values.pop());
        if (after, result_after) != (to_free, Val::Reg(result)) {
            // A value moved while the condition was computed: the count of
            // `can_select` was wrong. Emit the function again without
            // selects (this attempt is thrown away).
            self.retry.select_spilled = true;
            self.free(after);
            self.free(result_after);
            self.values.push(Val::Const(0));
            return;
        }
        match outcome {
            Ok(cond) => self.asm.cmovcc(cond.invert(), result, else_reg),
            Err(true) => {}
            Err(false) => self.asm.mov_rr(result, else_reg),
        }
        self.free(to_free);
        self.values.push(Val::Reg(result));
    }

    /// Consumes the top two values with a `cmp` (or `test`) and returns the
    /// condition under which comparison `op` holds, or the constant answer.
    pub(super) fn compare(&mut self, op: BinOp) -> Result<Cond, bool> {
        let mut rhs = self.values.pop();
        let mut lhs = self.values.pop();
        let mut cond = condition(op);
        if let (Val::Const(a), Val::Const(b)) = (lhs, rhs) {
            return Err(op.apply(a, b) == Some(1));
        }
        if matches!(lhs, Val::Const(_)) {
            std::mem::swap(&mut lhs, &mut rhs);
            cond = swapped(cond);
        }
        let left = self.src(lhs);
        let right = self.operand(rhs);
        match (left, right) {
            (Src::Reg(a), Src::Imm(0)) => self.asm.test_rr(a, a),
            (Src::Reg(a), Src::Imm(b)) => self.asm.cmp_ri(a, b as i32),
            (Src::Reg(a), Src::Reg(b)) => self.asm.cmp_rr(a, b),
            (Src::Reg(a), Src::Mem(b)) => self.asm.cmp_rm(a, b),
            (Src::Mem(a), Src::Reg(b)) => {
                self.asm.cmp_rm(b, a);
                cond = swapped(cond);
            }
            (Src::Mem(a), Src::Imm(b)) => {
                self.asm.mov_rm(SCRATCH, a);
                self.asm.cmp_ri(SCRATCH, b as i32);
            }
            (Src::Mem(a), Src::Mem(b)) => {
                self.asm.mov_rm(SCRATCH, a);
                self.asm.cmp_rm(SCRATCH, b);
            }
            (Src::Imm(_), _) => unreachable!("constants were moved right"),
        }
        self.free(lhs);
        self.free(rhs);
        Ok(cond)
    }

    /// Consumes the top two values and pushes `lhs OP rhs` (a comparison) as
    /// 0 or 1 with `setcc`. The result register is taken before the
    /// compare: taking it may spill and set up the frame, which clobbers the
    /// flags.
    pub(super) fn materialize_comparison(&mut self, op: BinOp) {
        if let (Val::Const(a), Val::Const(b)) = (self.values.peek(1), self.values.peek(0)) {
            self.values.pop();
            self.values.pop();
            let value = op.apply(a, b).expect("comparisons always fold");
            self.values.push(Val::Const(value));
            return;
        }
        let reg = self.alloc_reg(RegSet::EMPTY);
        let Ok(cond) = self.compare(op) else {
            unreachable!("constant comparisons folded above")
        };
        self.asm.setcc(cond, reg);
        self.asm.movzx_r8(reg, reg);
        self.values.push(Val::Reg(reg));
    }

    /// Materialises a comparison, `!`, `&&` or `||` as 0 or 1.
    pub(super) fn bool_value(&mut self, expr: ir::Expr<'_>) {
        match expr.kind() {
            ir::Kind::Binary { op, lhs, rhs, .. } if remainder_test(op, lhs, rhs).is_some() => {
                let (x, mask) = remainder_test(op, lhs, rhs).expect("matched");
                self.expr(x);
                let val = self.values.pop();
                let (src, to_free) = self.readable(val, RegSet::EMPTY);
                // Taken before the test: taking it may spill, which would
                // clobber the flags.
                let reg = self.alloc_reg(RegSet::EMPTY);
                self.asm.test_ri(src, mask);
                self.free(to_free);
                self.asm
                    .setcc(if op == BinOp::Eq { Cond::E } else { Cond::Ne }, reg);
                self.asm.movzx_r8(reg, reg);
                self.values.push(Val::Reg(reg));
            }
            ir::Kind::Binary { op, lhs, rhs, .. } if op.is_comparison() => {
                self.expr(lhs);
                self.expr(rhs);
                self.materialize_comparison(op);
            }
            ir::Kind::Unary {
                op: UnOp::Not,
                operand,
            } => {
                self.expr(operand);
                self.values.push(Val::Const(0));
                self.materialize_comparison(BinOp::Eq);
            }
            _ => {
                let join = self.before_join();
                let is_false = self.asm.new_label();
                let end = self.asm.new_label();
                self.branch(expr, false, is_false);
                let reg = self.alloc_reg(RegSet::EMPTY);
                self.asm.mov_ri(reg, 1);
                self.asm.jmp(end);
                self.asm.bind(is_false);
                self.asm.mov_ri(reg, 0);
                self.asm.bind(end);
                self.after_join(join);
                self.values.push(Val::Reg(reg));
            }
        }
    }

    /// Jumps to `target` if the truth of `expr` (non-zero) equals `jump_if`,
    /// and falls through otherwise. Short-circuits `&&` and `||`. Consumes
    /// everything it evaluates before any jump, so the operand stack is the
    /// same on both paths.
    pub(super) fn branch(&mut self, expr: ir::Expr<'_>, jump_if: bool, target: Label) {
        match expr.kind() {
            ir::Kind::Int(value) => {
                if (value != 0) == jump_if {
                    self.asm.jmp(target);
                }
            }
            ir::Kind::Unary {
                op: UnOp::Not,
                operand,
            } => self.branch(operand, !jump_if, target),
            ir::Kind::Binary { op, lhs, rhs, .. } if op.is_comparison() => {
                let outcome = self.compare_exprs(op, lhs, rhs);
                self.jump_to(outcome, jump_if, target);
            }
            // `a && b` is true when both are; `a || b` when either is. When
            // the left side alone decides the jump, test it against the same
            // target; otherwise skip over the right side.
            ir::Kind::Binary {
                op: op @ (BinOp::And | BinOp::Or),
                lhs,
                rhs,
                ..
            } => {
                let left_decides = (op == BinOp::Or) == jump_if;
                if left_decides {
                    self.branch(lhs, jump_if, target);
                    self.branch(rhs, jump_if, target);
                } else {
                    let skip = self.asm.new_label();
                    self.branch(lhs, !jump_if, skip);
                    self.branch(rhs, jump_if, target);
                    self.asm.bind(skip);
                }
            }
            _ => {
                self.expr(expr);
                self.values.push(Val::Const(0));
                self.jump_on(BinOp::Ne, jump_if, target);
            }
        }
    }

    pub(super) fn jump_on(&mut self, op: BinOp, jump_if: bool, target: Label) {
        let outcome = self.compare(op);
        self.jump_to(outcome, jump_if, target);
    }

    /// Evaluates the comparison `lhs OP rhs` into the flags; returns the
    /// condition that then holds when it is true, or its constant answer.
    /// `x % 2^k == 0` is a `test` of the low bits.
    pub(super) fn compare_exprs(
        &mut self,
        op: BinOp,
        lhs: ir::Expr<'_>,
        rhs: ir::Expr<'_>,
    ) -> Result<Cond, bool> {
        if let Some((x, mask)) = remainder_test(op, lhs, rhs) {
            self.expr(x);
            let val = self.values.pop();
            let (src, to_free) = self.readable(val, RegSet::EMPTY);
            self.asm.test_ri(src, mask);
            self.free(to_free);
            return Ok(if op == BinOp::Eq { Cond::E } else { Cond::Ne });
        }
        self.expr(lhs);
        self.expr(rhs);
        self.compare(op)
    }

    /// Jumps to `target` when the outcome of a comparison equals `jump_if`.
    fn jump_to(&mut self, outcome: Result<Cond, bool>, jump_if: bool, target: Label) {
        match outcome {
            Err(holds) => {
                if holds == jump_if {
                    self.asm.jmp(target);
                }
            }
            Ok(cond) => self
                .asm
                .jcc(if jump_if { cond } else { cond.invert() }, target),
        }
    }
}

/// The condition for `b OP a` given the one for `a OP b`.
fn swapped(cond: Cond) -> Cond {
    match cond {
        Cond::L => Cond::G,
        Cond::G => Cond::L,
        Cond::Le => Cond::Ge,
        Cond::Ge => Cond::Le,
        other => other,
    }
}

/// Whether `op` gives a 0/1 truth value (a comparison, `&&`, `||`).
pub(super) fn is_boolean(op: BinOp) -> bool {
    op.is_comparison() || matches!(op, BinOp::And | BinOp::Or)
}

/// The signed condition under which comparison `op` holds.
fn condition(op: BinOp) -> Cond {
    match op {
        BinOp::Eq => Cond::E,
        BinOp::Ne => Cond::Ne,
        BinOp::Lt => Cond::L,
        BinOp::Le => Cond::Le,
        BinOp::Gt => Cond::G,
        BinOp::Ge => Cond::Ge,
        _ => unreachable!("{op} is not a comparison"),
    }
}
