//! Arithmetic: ALU operations with constant folding, immediates and the
//! identities that vanish; shifts; and division, by constants without a
//! zero test ([`crate::codegen::divide`]) and by variables with one,
//! unless the divisor's expression cannot be zero ([`never_zero`]).

use super::{FuncLowering, cond};
use crate::abi::Reg;
use crate::artifact::TrapKind;
use crate::ast::{BinOp, Span, UnOp};
use crate::codegen::analysis::{self, left_operand};
use crate::codegen::divide::{DivisorKind, Magic};
use crate::codegen::regs::{POOL, RegSet, SCRATCH, Src, Val};
use crate::codegen::x64::{Assembler, Cond, Mem};
use crate::ir;

impl FuncLowering<'_> {
    /// Consumes the top value and pushes `-x` or `!x` (bitwise).
    pub(super) fn unary(&mut self, op: UnOp) {
        let val = self.values.pop();
        if let Val::Const(value) = val {
            self.values.push(Val::Const(op.apply(value)));
            return;
        }
        let reg = self.owned(val, RegSet::EMPTY);
        match op {
            UnOp::Neg => self.asm.neg_r(reg),
            UnOp::BitNot => self.asm.not_r(reg),
            UnOp::Not => unreachable!("`!` is a condition (cond.rs)"),
        }
        self.values.push(Val::Reg(reg));
    }

    /// The arithmetic operation `top` (not a masked shift): left operand,
    /// right operand, operation. `a + a + ... + a` is a left-leaning chain
    /// as deep as it is long: past [`MAX_NESTED_OPERATIONS`] operations
    /// whose left operands are being lowered, the ones down the left
    /// operands are lowered in a loop ([`Self::left_spine`]) instead of a
    /// recursion per term (only right operands recurse). Below that, the
    /// recursion is cheaper. (`(op, op_span, lhs, rhs)` are `top`'s parts.)
    #[inline(always)]
    pub(super) fn arithmetic_chain<'e>(
        &mut self,
        top: ir::Expr<'e>,
        (op, op_span, lhs, rhs): (BinOp, Span, ir::Expr<'e>, ir::Expr<'e>),
    ) {
        if self.nested_operations < MAX_NESTED_OPERATIONS {
            self.nested_operations += 1;
            self.expr(lhs);
            self.nested_operations -= 1;
        } else if is_arithmetic(lhs) {
            self.left_spine(top, lhs);
        } else {
            self.expr(lhs);
        }
        self.expr(rhs);
        self.arithmetic(op, op_span, rhs);
    }

    /// The left operand `lhs` of `top`, itself an arithmetic operation,
    /// and those down its left operands: the loop of
    /// [`Self::arithmetic_chain`]. The order of the work, spans included,
    /// is the recursion's.
    fn left_spine(&mut self, top: ir::Expr<'_>, lhs: ir::Expr<'_>) {
        let outer = self.spine.len();
        let mut bottom = lhs;
        while is_arithmetic(bottom) {
            let entered = self.debug.on && self.enter_span(bottom);
            self.spine.push((bottom.id(), entered));
            bottom = left_operand(bottom);
        }
        self.expr(bottom);
        while self.spine.len() > outer {
            let (id, entered) = self.spine.pop().expect("above outer");
            let ir::Kind::Binary {
                op, op_span, rhs, ..
            } = top.sibling(id).kind()
            else {
                unreachable!("an arithmetic operation")
            };
            self.expr(rhs);
            self.arithmetic(op, op_span, rhs);
            self.leave_span(entered);
        }
    }

    /// `(x >> k) & mask` as a logical shift when the mask clears the bits
    /// the arithmetic shift fills with the sign (see
    /// [`analysis::masked_shift`]), then the `and` only if the mask keeps
    /// fewer bits than the shift leaves. Returns false (emitting nothing)
    /// for any other expression.
    pub(super) fn masked_shift(&mut self, op: BinOp, lhs: ir::Expr<'_>, rhs: ir::Expr<'_>) -> bool {
        let Some((x, count, mask)) = analysis::masked_shift(op, lhs, rhs) else {
            return false;
        };
        self.expr(x);
        let val = self.values.pop();
        let reg = self.owned(val, RegSet::EMPTY);
        self.asm.shr_ri(reg, count);
        self.values.push(Val::Reg(reg));
        if let Some(mask) = mask {
            self.values.push(Val::Const(mask));
            self.alu(BinOp::BitAnd);
        }
        true
    }

    /// Consumes the top two values and pushes `lhs OP rhs`; `rhs` is the
    /// right operand's expression (a divisor that cannot be zero needs no
    /// test).
    pub(super) fn arithmetic(&mut self, op: BinOp, op_span: Span, rhs: ir::Expr<'_>) {
        if let (Val::Const(a), Val::Const(b)) = (self.values.peek(1), self.values.peek(0))
            && let Some(value) = op.apply(a, b)
        {
            self.values.pop();
            self.values.pop();
            self.values.push(Val::Const(value));
            return;
        }
        match op {
            BinOp::Shl | BinOp::Shr => self.shift(op),
            BinOp::Div | BinOp::Rem => self.divide(op, op_span, never_zero(rhs)),
            _ => self.alu(op),
        }
    }

    pub(super) fn alu(&mut self, op: BinOp) {
        let mut rhs = self.values.pop();
        let mut lhs = self.values.pop();
        let commutative = matches!(
            op,
            BinOp::Add | BinOp::Mul | BinOp::BitAnd | BinOp::BitOr | BinOp::BitXor
        );
        // Constants go right (immediates); a register the right operand
        // owns is overwritten rather than copying the left operand, and a
        // caller-saved one rather than a callee-saved one (results are
        // returned and passed in caller-saved registers).
        let rank = |v: Val| match v {
            Val::Reg(r) if POOL.contains(&r) => 2,
            Val::Reg(_) => 1,
            _ => 0,
        };
        if commutative && (matches!(lhs, Val::Const(_)) || rank(rhs) > rank(lhs)) {
            std::mem::swap(&mut lhs, &mut rhs);
        }
        if let Val::Const(c) = rhs {
            // The identities: the operation vanishes or gives a constant.
            match (op, c) {
                (BinOp::Add | BinOp::Sub | BinOp::BitOr | BinOp::BitXor, 0)
                | (BinOp::Mul, 1)
                | (BinOp::BitAnd, -1) => {
                    self.values.push(lhs);
                    return;
                }
                (BinOp::Mul | BinOp::BitAnd, 0) => {
                    self.free(lhs);
                    self.values.push(Val::Const(0));
                    return;
                }
                // The low 32 or 8 bits: a zero-extending move, which needs
                // no mask constant (0xFFFFFFFF fits no sign-extended imm32).
                (BinOp::BitAnd, 0xFFFF_FFFF | 0xFF) => {
                    let (src, to_free) = self.readable(lhs, RegSet::EMPTY);
                    self.free(to_free);
                    let reg = self.alloc_reg(RegSet::EMPTY);
                    if c == 0xFF {
                        self.asm.movzx_r8(reg, src);
                    } else {
                        self.asm.mov_r32(reg, src);
                    }
                    self.values.push(Val::Reg(reg));
                    return;
                }
                (BinOp::Mul, -1) | (BinOp::BitXor, -1) => {
                    let reg = self.owned(lhs, RegSet::EMPTY);
                    if op == BinOp::Mul {
                        self.asm.neg_r(reg);
                    } else {
                        self.asm.not_r(reg);
                    }
                    self.values.push(Val::Reg(reg));
                    return;
                }
                (BinOp::Mul, c) if c > 0 && (c as u64).is_power_of_two() => {
                    let reg = self.owned(lhs, RegSet::EMPTY);
                    self.asm.shl_ri(reg, c.trailing_zeros() as u8);
                    self.values.push(Val::Reg(reg));
                    return;
                }
                (BinOp::Mul, c) if i32::try_from(c).is_ok() => {
                    let (src, to_free) = self.readable(lhs, RegSet::EMPTY);
                    self.free(to_free);
                    let reg = self.alloc_reg(RegSet::EMPTY);
                    self.asm.imul_rri(reg, src, c as i32);
                    self.values.push(Val::Reg(reg));
                    return;
                }
                (BinOp::Add | BinOp::Sub, c) => {
                    let delta = if op == BinOp::Add {
                        Some(c)
                    } else {
                        c.checked_neg()
                    };
                    if let Some(delta) = delta.and_then(|d| i32::try_from(d).ok()) {
                        // `lea` computes into a fresh register straight from
                        // a variable's register, saving the copy.
                        if let (Val::Local(_), Src::Reg(home)) = (lhs, self.src(lhs)) {
                            // Freed first: at its last read the variable's
                            // register is free, and the sum may take it.
                            // (The register keeps its value while the
                            // allocation spills or sets up the frame.)
                            self.free(lhs);
                            let reg = self.alloc_reg(RegSet::EMPTY);
                            if reg == home {
                                self.asm.add_ri(reg, delta);
                            } else {
                                self.asm.lea(reg, Mem::new(home, delta));
                            }
                            self.values.push(Val::Reg(reg));
                        } else {
                            let reg = self.owned(lhs, RegSet::EMPTY);
                            self.asm.add_ri(reg, delta);
                            self.values.push(Val::Reg(reg));
                        }
                        return;
                    }
                }
                _ => {}
            }
        }
        if op == BinOp::Sub && lhs == Val::Const(0) {
            let reg = self.owned(rhs, RegSet::EMPTY);
            self.asm.neg_r(reg);
            self.values.push(Val::Reg(reg));
            return;
        }
        let reg = self.owned(lhs, RegSet::EMPTY);
        let operand = self.operand(rhs);
        type Forms = (
            fn(&mut Assembler, Reg, Reg),
            fn(&mut Assembler, Reg, i32),
            fn(&mut Assembler, Reg, Mem),
        );
        let (rr, ri, rm): Forms = match op {
            BinOp::Add => (Assembler::add_rr, Assembler::add_ri, Assembler::add_rm),
            BinOp::Sub => (Assembler::sub_rr, Assembler::sub_ri, Assembler::sub_rm),
            BinOp::BitAnd => (Assembler::and_rr, Assembler::and_ri, Assembler::and_rm),
            BinOp::BitOr => (Assembler::or_rr, Assembler::or_ri, Assembler::or_rm),
            BinOp::BitXor => (Assembler::xor_rr, Assembler::xor_ri, Assembler::xor_rm),
            BinOp::Mul => (
                Assembler::imul_rr,
                |asm, dst, imm| asm.imul_rri(dst, dst, imm),
                Assembler::imul_rm,
            ),
            _ => unreachable!("{op} is not an ALU operator"),
        };
        match operand {
            Src::Reg(src) => rr(self.asm, reg, src),
            Src::Imm(value) => ri(self.asm, reg, value as i32),
            Src::Mem(mem) => rm(self.asm, reg, mem),
        }
        self.free(rhs);
        self.values.push(Val::Reg(reg));
    }

    /// Shifts use the count modulo 64, which is what the hardware does for
    /// 64-bit operands.
    pub(super) fn shift(&mut self, op: BinOp) {
        if let Some(Val::Const(count)) = self.values.top() {
            self.values.pop();
            let count = (count & 63) as u8;
            let lhs = self.values.pop();
            if count == 0 {
                self.values.push(lhs);
                return;
            }
            let reg = self.owned(lhs, RegSet::EMPTY);
            match op {
                BinOp::Shl => self.asm.shl_ri(reg, count),
                _ => self.asm.sar_ri(reg, count),
            }
            self.values.push(Val::Reg(reg));
            return;
        }
        // The count must be in `cl`.
        if self.values.top() != Some(Val::Reg(Reg::Rcx)) {
            self.evict(Reg::Rcx);
        }
        let count = self.values.pop();
        let lhs = self.values.pop();
        let avoid = RegSet::EMPTY.with(Reg::Rcx);
        let reg = self.owned(lhs, avoid);
        let src = self.src(count);
        self.load(Reg::Rcx, src);
        self.free(count);
        match op {
            BinOp::Shl => self.asm.shl_rcl(reg),
            _ => self.asm.sar_rcl(reg),
        }
        self.values.push(Val::Reg(reg));
    }

    /// Signed division or remainder of the top two values; `nonzero` if
    /// the divisor is known not to be zero.
    pub(super) fn divide(&mut self, op: BinOp, op_span: Span, nonzero: bool) {
        if let Some(Val::Const(divisor)) = self.values.top() {
            self.values.pop();
            self.divide_by_constant(op, op_span, divisor);
        } else {
            self.divide_by_variable(op, op_span, nonzero);
        }
    }

    pub(super) fn divide_by_constant(&mut self, op: BinOp, op_span: Span, divisor: i64) {
        let rem = op == BinOp::Rem;
        match self.func.facts.divisor_kind(divisor) {
            DivisorKind::Zero => {
                let trap = self.stub(TrapKind::DivisionByZero { op_span: op_span.into() }, false);
                self.asm.jmp(trap);
                let lhs = self.values.pop();
                self.free(lhs);
                self.values.push(Val::Const(0));
            }
            DivisorKind::One | DivisorKind::MinusOne if rem => {
                let lhs = self.values.pop();
                self.free(lhs);
                self.values.push(Val::Const(0));
            }
            DivisorKind::One => {}
            DivisorKind::MinusOne => {
                let lhs = self.values.pop();
                let reg = self.owned(lhs, RegSet::EMPTY);
                self.asm.neg_r(reg);
                self.values.push(Val::Reg(reg));
            }
            DivisorKind::Min => {
                // x / MIN is 1 for MIN and 0 otherwise; x % MIN is 0 for MIN
                // and x otherwise.
                let lhs = self.values.pop();
                self.asm.mov_ri(SCRATCH, i64::MIN);
                if rem {
                    let reg = self.owned(lhs, RegSet::EMPTY);
                    let keep = self.asm.new_label();
                    self.asm.cmp_rr(reg, SCRATCH);
                    self.asm.jcc(Cond::Ne, keep);
                    self.asm.zero_r(reg);
                    self.asm.bind(keep);
                    self.values.push(Val::Reg(reg));
                } else {
                    let (src, to_free) = self.readable(lhs, RegSet::EMPTY);
                    let reg = self.alloc_reg(RegSet::EMPTY);
                    self.asm.cmp_rr(src, SCRATCH);
                    self.asm.setcc(Cond::E, reg);
                    self.asm.movzx_r8(reg, reg);
                    self.free(to_free);
                    self.values.push(Val::Reg(reg));
                }
            }
            DivisorKind::PowerOfTwo { shift, negative } => {
                // Round toward zero: add 2^k - 1 to negative dividends.
                let lhs = self.values.pop();
                let src = self.src(lhs);
                self.load(SCRATCH, src);
                if shift == 1 {
                    self.asm.shr_ri(SCRATCH, 63);
                } else {
                    self.asm.sar_ri(SCRATCH, 63);
                    self.asm.shr_ri(SCRATCH, (64 - shift) as u8);
                }
                if rem {
                    // x - ((x + bias) rounded down to a multiple of 2^k)
                    match src {
                        Src::Reg(reg) => self.asm.add_rr(SCRATCH, reg),
                        Src::Mem(mem) => self.asm.add_rm(SCRATCH, mem),
                        Src::Imm(_) => unreachable!("constants fold"),
                    }
                    match i32::try_from(-(1i64 << shift)) {
                        Ok(mask) => self.asm.and_ri(SCRATCH, mask),
                        Err(_) => {
                            self.asm.sar_ri(SCRATCH, shift as u8);
                            self.asm.shl_ri(SCRATCH, shift as u8);
                        }
                    }
                    let reg = self.owned(lhs, RegSet::EMPTY);
                    self.asm.sub_rr(reg, SCRATCH);
                    self.values.push(Val::Reg(reg));
                } else {
                    let reg = self.owned(lhs, RegSet::EMPTY);
                    self.asm.add_rr(reg, SCRATCH);
                    self.asm.sar_ri(reg, shift as u8);
                    if negative {
                        self.asm.neg_r(reg);
                    }
                    self.values.push(Val::Reg(reg));
                }
            }
            DivisorKind::Magic(magic) => self.divide_by_magic(rem, divisor, magic),
        }
    }

    /// `q = mulhi(x, M) (+/- x) >> s`, plus one if negative; `x - q * d`
    /// for the remainder. Uses `rax` and `rdx`.
    pub(super) fn divide_by_magic(&mut self, rem: bool, divisor: i64, magic: Magic) {
        // `x % d` after `x / d` (as in `f(x / 10, acc + x % 10)`): the
        // quotient still waits on the stack, so the remainder is
        // `x - q * d`, with no second multiply by the magic number.
        if let (true, Val::Local(local), Ok(d)) = (
            rem,
            self.values.top().expect("a dividend"),
            i32::try_from(divisor),
        ) && let Some(quotient) = self.values.quotient(local, divisor)
        {
            let lhs = self.values.pop();
            let x = self.src(lhs);
            self.asm.imul_rri(SCRATCH, quotient, d);
            let reg = self.alloc_reg(RegSet::EMPTY);
            self.load(reg, x);
            self.asm.sub_rr(reg, SCRATCH);
            self.free(lhs);
            self.values.push(Val::Reg(reg));
            return;
        }
        self.evict(Reg::Rax);
        self.evict(Reg::Rdx);
        let lhs = self.values.pop();
        let x = self.readable_or_scratch(lhs);
        self.values.used.insert(Reg::Rax);
        self.values.used.insert(Reg::Rdx);
        // rdx:rax = x * M: from a register when the loop hoisted M.
        match self.const_src(magic.multiplier) {
            Src::Reg(m) => self.asm.mov_rr(Reg::Rax, m),
            _ => self.asm.mov_ri(Reg::Rax, magic.multiplier),
        }
        self.asm.imul_wide_r(x);
        match magic.correction {
            1 => self.asm.add_rr(Reg::Rdx, x),
            -1 => self.asm.sub_rr(Reg::Rdx, x),
            _ => {}
        }
        if magic.shift > 0 {
            self.asm.sar_ri(Reg::Rdx, magic.shift as u8);
        }
        self.asm.mov_rr(Reg::Rax, Reg::Rdx);
        self.asm.shr_ri(Reg::Rax, 63);
        self.asm.add_rr(Reg::Rdx, Reg::Rax);
        if !rem {
            self.values.used.remove(Reg::Rax);
            self.free(lhs);
            self.values.push(Val::Reg(Reg::Rdx));
            if let Val::Local(local) = lhs {
                self.values.note_quotient(Reg::Rdx, local, divisor);
            }
            return;
        }
        match i32::try_from(divisor) {
            Ok(d) => self.asm.imul_rri(Reg::Rdx, Reg::Rdx, d),
            Err(_) => {
                self.asm.mov_ri(Reg::Rax, divisor);
                self.asm.imul_rr(Reg::Rdx, Reg::Rax);
            }
        }
        self.asm.mov_rr(Reg::Rax, x);
        self.asm.sub_rr(Reg::Rax, Reg::Rdx);
        self.values.used.remove(Reg::Rdx);
        self.free(lhs);
        self.values.push(Val::Reg(Reg::Rax));
    }

    /// `idiv`, after a zero test (trap; none if the divisor is `nonzero`)
    /// and a `-1` test: `i64::MIN / -1` faults in hardware but wraps to
    /// `i64::MIN` (remainder 0) here.
    pub(super) fn divide_by_variable(&mut self, op: BinOp, op_span: Span, nonzero: bool) {
        if self.values.peek(1) != Val::Reg(Reg::Rax) {
            self.evict(Reg::Rax);
        }
        self.evict(Reg::Rdx);
        let divisor = self.values.pop();
        let lhs = self.values.pop();
        let d = self.readable_or_scratch(divisor);
        let src = self.src(lhs);
        self.load(Reg::Rax, src);
        if lhs != Val::Reg(Reg::Rax) {
            self.free(lhs);
        }
        self.values.used.insert(Reg::Rax);
        self.values.used.insert(Reg::Rdx);
        if !nonzero {
            let trap = self.stub(TrapKind::DivisionByZero { op_span: op_span.into() }, false);
            self.asm.test_rr(d, d);
            self.asm.jcc(Cond::E, trap);
        }
        let wide = self.asm.new_label();
        let ordinary = self.asm.new_label();
        let done = self.asm.new_label();
        // Both operands in 0..2^32 (`(x | d) >> 32` is zero, which also
        // leaves `rdx` zero): an unsigned 32-bit `div`, faster than the
        // 64-bit `idiv`, computes the same quotient and remainder, both
        // zero-extended.
        self.asm.mov_rr(Reg::Rdx, Reg::Rax);
        self.asm.or_rr(Reg::Rdx, d);
        self.asm.shr_ri(Reg::Rdx, 32);
        self.asm.jcc(Cond::Ne, wide);
        self.asm.div_r32(d);
        self.asm.jmp(done);
        self.asm.bind(wide);
        self.asm.cmp_ri(d, -1);
        self.asm.jcc(Cond::Ne, ordinary);
        let result = if op == BinOp::Div {
            self.asm.neg_r(Reg::Rax);
            Reg::Rax
        } else {
            self.asm.zero_r(Reg::Rdx);
            Reg::Rdx
        };
        self.asm.jmp(done);
        self.asm.bind(ordinary);
        self.asm.cqo();
        self.asm.idiv_r(d);
        self.asm.bind(done);
        self.free(divisor);
        let other = if result == Reg::Rax {
            Reg::Rdx
        } else {
            Reg::Rax
        };
        self.values.used.remove(other);
        self.values.push(Val::Reg(result));
    }
}

/// How many operations' left operands the lowering recurses into before
/// it lowers the rest of a chain in a loop: enough for the expressions
/// people write, few enough that their frames stay small.
pub(super) const MAX_NESTED_OPERATIONS: u32 = 64;

/// True if `expr` is an operation that the visitor lowers as its left
/// operand, its right operand, then [`FuncLowering::arithmetic`]: not a
/// comparison, `&&` or `||`, nor a masked shift.
#[inline]
fn is_arithmetic(expr: ir::Expr<'_>) -> bool {
    matches!(expr.kind(), ir::Kind::Binary { op, lhs, rhs, .. }
        if !cond::is_boolean(op) && analysis::masked_shift(op, lhs, rhs).is_none())
}

/// True if `expr` is never zero, whatever its variables hold: a nonzero
/// constant, or an `|` with a nonzero side (`b | 1`, the usual guard of a
/// divisor). A division by such an expression cannot trap, so it needs no
/// zero test; a function whose divisions are all of this kind and that
/// makes no calls has no trap site at all (see `crate::abi`, "Direct
/// calls").
fn never_zero(expr: ir::Expr<'_>) -> bool {
    match expr.kind() {
        ir::Kind::Int(value) => value != 0,
        ir::Kind::Binary {
            op: BinOp::BitOr,
            lhs,
            rhs,
            ..
        } => never_zero(lhs) || never_zero(rhs),
        _ => false,
    }
}
