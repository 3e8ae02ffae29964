//! Lowering: the checked [`ir::Program`] onto the x86-64 [`Assembler`].
//!
//! A straightforward single-pass scheme: every variable has a frame slot,
//! each expression leaves its value in `rax`, the right operand of a binary
//! operator is used straight from an immediate, a variable's slot or `rcx`,
//! and only a value that must survive the evaluation of a non-trivial sibling
//! goes to a temporary slot. Conditions compile to `cmp` + `jcc` without
//! materialising 0/1. Calls in tail position become jumps.
//!
//! Every function starts with the stack-limit check from the runtime
//! contract (see [`crate::jit::runtime`]) and ends with its out-of-line trap
//! stubs, each a `call` to the shared trap exit; the return address of that
//! call is the key of the [`TrapSite`] describing the cause.

use crate::ast::{BinOp, Span, UnOp};
use crate::codegen::x64::{Assembler, Cond, Label, Mem, Reg};
use crate::ir::{self, FuncId, LocalId};
use crate::jit::runtime::{CTX_LIMIT, CTX_SAVED_RSP, CTX_TRAP_PC, STACK_BASE_MASK};

/// System V integer argument registers, in order.
pub const ARG_REGS: [Reg; 6] = [Reg::Rdi, Reg::Rsi, Reg::Rdx, Reg::Rcx, Reg::R8, Reg::R9];

/// Callee-saved registers the entry trampoline preserves for Rust, because a
/// trap leaves JIT frames without running their epilogues.
const CALLEE_SAVED: [Reg; 5] = [Reg::Rbx, Reg::R12, Reg::R13, Reg::R14, Reg::R15];

/// The output of code generation for a whole program.
#[derive(Clone, Debug)]
pub struct Compiled {
    /// Position-independent machine code: trampoline, trap exit, functions.
    pub code: Vec<u8>,
    /// Offset of the entry trampoline ([`crate::jit::runtime`]'s `EnterFn`).
    pub enter: usize,
    /// Offset of the shared trap exit that every trap stub calls.
    pub trap_exit: usize,
    /// Where each function of the program lives, indexed like `ir.funcs`.
    pub funcs: Vec<FuncCode>,
    /// Every trap site, sorted by offset.
    pub traps: Vec<TrapSite>,
}

/// The bytes of one function (its body and its trap stubs).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub struct FuncCode {
    pub offset: usize,
    pub size: usize,
}

/// A place where generated code can trap.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct TrapSite {
    /// The return address of the stub's call to the trap exit, as an offset
    /// into [`Compiled::code`].
    pub offset: usize,
    /// The function the trap site belongs to.
    pub func: FuncId,
    pub kind: TrapKind,
}

/// Why a trap fires.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum TrapKind {
    /// `/` or `%` with a zero divisor; the span is the operator.
    DivisionByZero { op_span: Span },
    /// The stack limit was hit on entry to this function.
    StackOverflow { func: FuncId },
}

impl Compiled {
    /// Every named piece of code, for disassembly: the trampoline, the trap
    /// exit and each function under its name.
    pub fn symbols(&self, program: &ir::Program) -> Vec<Symbol> {
        let first_func = self.funcs.first().map_or(self.code.len(), |f| f.offset);
        let mut symbols = vec![
            Symbol {
                name: "<entry trampoline>".to_owned(),
                offset: self.enter,
                size: self.trap_exit - self.enter,
            },
            Symbol {
                name: "<trap exit>".to_owned(),
                offset: self.trap_exit,
                size: first_func - self.trap_exit,
            },
        ];
        symbols.extend(
            program
                .funcs
                .iter()
                .zip(&self.funcs)
                .map(|(func, code)| Symbol {
                    name: func.name.clone(),
                    offset: code.offset,
                    size: code.size,
                }),
        );
        symbols
    }
}

/// A named range of the generated code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Symbol {
    pub name: String,
    pub offset: usize,
    pub size: usize,
}

/// Generates machine code for every function of `program`.
pub fn compile(program: &ir::Program) -> Compiled {
    let mut asm = Assembler::new();
    let trap_exit = asm.new_label();
    let enter = emit_trampoline(&mut asm, trap_exit);
    let trap_exit_offset = asm.label_offset(trap_exit).expect("trap exit is bound");
    let func_labels: Vec<Label> = program.funcs.iter().map(|_| asm.new_label()).collect();
    let mut traps = Vec::new();
    let mut funcs = Vec::with_capacity(program.funcs.len());
    for (id, func) in program.funcs.iter().enumerate() {
        let offset = asm.offset();
        FuncLowering {
            asm: &mut asm,
            program,
            func_labels: &func_labels,
            trap_exit,
            traps: &mut traps,
            stubs: Vec::new(),
            locals: func.locals,
            temps_in_use: 0,
            max_temps: 0,
            max_outgoing: 0,
            stack_params: stack_arg_count(func.arity),
        }
        .function(id, func);
        funcs.push(FuncCode {
            offset,
            size: asm.offset() - offset,
        });
    }
    traps.sort_by_key(|t: &TrapSite| t.offset);
    Compiled {
        code: asm.finish(),
        enter,
        trap_exit: trap_exit_offset,
        funcs,
        traps,
    }
}

/// How many of `arity` arguments are passed on the stack.
fn stack_arg_count(arity: usize) -> usize {
    arity.saturating_sub(ARG_REGS.len())
}

/// Emits the entry trampoline and the shared trap exit; returns the
/// trampoline's offset. See `EnterFn` in [`crate::jit::runtime`].
fn emit_trampoline(asm: &mut Assembler, trap_exit: Label) -> usize {
    let enter = asm.offset();
    asm.push_r(Reg::Rbp);
    asm.mov_rr(Reg::Rbp, Reg::Rsp);
    for reg in CALLEE_SAVED {
        asm.push_r(reg);
    }
    // rdi = context, rsi = entry, rdx = new stack pointer, rcx = register args.
    asm.mov_rr(Reg::R12, Reg::Rdi);
    asm.mov_mr(Mem::new(Reg::Rdi, CTX_SAVED_RSP), Reg::Rsp);
    asm.mov_rr(Reg::Rax, Reg::Rsi);
    asm.mov_rr(Reg::R11, Reg::Rcx);
    asm.mov_rr(Reg::Rsp, Reg::Rdx);
    for (index, reg) in ARG_REGS.into_iter().enumerate() {
        asm.mov_rm(reg, Mem::new(Reg::R11, 8 * index as i32));
    }
    asm.call_r(Reg::Rax);
    asm.mov_rm(Reg::Rsp, Mem::new(Reg::R12, CTX_SAVED_RSP));
    let restore = asm.new_label();
    asm.bind(restore);
    for reg in CALLEE_SAVED.into_iter().rev() {
        asm.pop_r(reg);
    }
    asm.pop_r(Reg::Rbp);
    asm.ret();

    // Reached by `call trap_exit` from a stub: the return address on top of
    // the stack identifies the trap site.
    asm.bind(trap_exit);
    asm.pop_r(Reg::Rax);
    emit_context_address(asm, Reg::R11);
    asm.mov_mr(Mem::new(Reg::R11, CTX_TRAP_PC), Reg::Rax);
    asm.mov_rm(Reg::Rsp, Mem::new(Reg::R11, CTX_SAVED_RSP));
    asm.jmp(restore);
    enter
}

/// `dst = rsp & STACK_BASE_MASK`: the address of the running stack's context.
fn emit_context_address(asm: &mut Assembler, dst: Reg) {
    asm.mov_rr(dst, Reg::Rsp);
    asm.and_ri(dst, STACK_BASE_MASK);
}

/// Where the right operand of a binary operation is, once the left one is in
/// `rax`.
#[derive(Copy, Clone, Debug)]
enum Operand {
    Imm(i32),
    Mem(Mem),
    Rcx,
}

/// The lowering state of one function.
struct FuncLowering<'a> {
    asm: &'a mut Assembler,
    program: &'a ir::Program,
    func_labels: &'a [Label],
    trap_exit: Label,
    traps: &'a mut Vec<TrapSite>,
    /// Out-of-line trap stubs to emit after the body.
    stubs: Vec<(Label, TrapKind)>,
    /// Slots for parameters and `let` bindings.
    locals: usize,
    /// Temporary slots live now, and the most ever live at once.
    temps_in_use: usize,
    max_temps: usize,
    /// The most stack arguments any call in this function passes.
    max_outgoing: usize,
    /// How many of this function's own parameters came on the stack.
    stack_params: usize,
}

impl FuncLowering<'_> {
    fn function(mut self, id: FuncId, func: &ir::Func) {
        self.asm.bind(self.func_labels[id]);

        // Stack check: rsp - (frame + saved rbp + a return address) must stay
        // at or above the limit. The frame size is known only at the end.
        let overflow = self.stub(TrapKind::StackOverflow { func: id });
        emit_context_address(self.asm, Reg::R11);
        self.asm.mov_rr(Reg::Rax, Reg::Rsp);
        let check_size = self.asm.sub_ri32(Reg::Rax, 0);
        self.asm.cmp_rm(Reg::Rax, Mem::new(Reg::R11, CTX_LIMIT));
        self.asm.jcc(Cond::B, overflow);

        self.asm.push_r(Reg::Rbp);
        self.asm.mov_rr(Reg::Rbp, Reg::Rsp);
        let frame_size = self.asm.sub_ri32(Reg::Rsp, 0);
        for param in 0..func.arity {
            let slot = self.local_slot(param);
            match ARG_REGS.get(param) {
                Some(&reg) => self.asm.mov_mr(slot, reg),
                None => {
                    let incoming = self.incoming_stack_arg(param - ARG_REGS.len());
                    self.asm.mov_rm(Reg::Rax, incoming);
                    self.asm.mov_mr(slot, Reg::Rax);
                }
            }
        }

        self.expr(&func.body, true);
        self.emit_epilogue();
        self.asm.ret();

        let slots = self.locals + self.max_temps + self.max_outgoing;
        let frame = (slots * 8).next_multiple_of(16);
        let frame = i32::try_from(frame).expect("frame larger than 2 GiB");
        self.asm.patch_i32(frame_size, frame);
        self.asm.patch_i32(check_size, frame + 16);

        for (label, kind) in std::mem::take(&mut self.stubs) {
            self.asm.bind(label);
            self.asm.call(self.trap_exit);
            self.traps.push(TrapSite {
                offset: self.asm.offset(),
                func: id,
                kind,
            });
        }
    }

    fn emit_epilogue(&mut self) {
        self.asm.mov_rr(Reg::Rsp, Reg::Rbp);
        self.asm.pop_r(Reg::Rbp);
    }

    /// A new out-of-line trap stub for `kind`; returns its label.
    fn stub(&mut self, kind: TrapKind) -> Label {
        let label = self.asm.new_label();
        self.stubs.push((label, kind));
        label
    }

    fn local_slot(&self, local: LocalId) -> Mem {
        Mem::new(Reg::Rbp, slot_disp(local))
    }

    fn incoming_stack_arg(&self, index: usize) -> Mem {
        Mem::new(Reg::Rbp, 16 + 8 * index as i32)
    }

    /// Reserves a temporary slot; release with [`Self::pop_temp`] in LIFO order.
    fn push_temp(&mut self) -> Mem {
        let slot = self.local_slot(self.locals + self.temps_in_use);
        self.temps_in_use += 1;
        self.max_temps = self.max_temps.max(self.temps_in_use);
        slot
    }

    fn pop_temp(&mut self) {
        self.temps_in_use -= 1;
    }

    /// Evaluates `expr` into `rax`. In tail position a call becomes a jump.
    fn expr(&mut self, expr: &ir::Expr, tail: bool) {
        match expr {
            ir::Expr::Int(value) => self.asm.mov_ri(Reg::Rax, *value),
            ir::Expr::Local(local) => self.asm.mov_rm(Reg::Rax, self.local_slot(*local)),
            ir::Expr::Unary {
                op: UnOp::Neg,
                operand,
            } => {
                self.expr(operand, false);
                self.asm.neg_r(Reg::Rax);
            }
            ir::Expr::Unary {
                op: UnOp::BitNot,
                operand,
            } => {
                self.expr(operand, false);
                self.asm.not_r(Reg::Rax);
            }
            ir::Expr::Unary { op: UnOp::Not, .. } => self.bool_value(expr),
            ir::Expr::Binary { op, .. } if is_boolean(*op) => self.bool_value(expr),
            ir::Expr::Binary {
                op,
                op_span,
                lhs,
                rhs,
            } => self.arithmetic(*op, *op_span, lhs, rhs),
            ir::Expr::If {
                cond,
                then_branch,
                else_branch,
            } => {
                let else_label = self.asm.new_label();
                let end = self.asm.new_label();
                self.branch(cond, false, else_label);
                self.expr(then_branch, tail);
                self.asm.jmp(end);
                self.asm.bind(else_label);
                self.expr(else_branch, tail);
                self.asm.bind(end);
            }
            ir::Expr::Let { local, value, body } => {
                self.expr(value, false);
                self.asm.mov_mr(self.local_slot(*local), Reg::Rax);
                self.expr(body, tail);
            }
            ir::Expr::Call { func, args } => {
                let callee_stack_args = stack_arg_count(self.program.funcs[*func].arity);
                if tail && callee_stack_args <= self.stack_params {
                    self.tail_call(*func, args);
                } else {
                    self.call(*func, args);
                }
            }
        }
    }

    /// Evaluates `lhs` into `rax` and makes `rhs` available as an operand,
    /// keeping left-to-right order wherever it can be observed.
    fn operands(&mut self, lhs: &ir::Expr, rhs: &ir::Expr) -> Operand {
        match rhs {
            ir::Expr::Int(value) if i32::try_from(*value).is_ok() => {
                self.expr(lhs, false);
                Operand::Imm(*value as i32)
            }
            ir::Expr::Local(local) => {
                self.expr(lhs, false);
                Operand::Mem(self.local_slot(*local))
            }
            // A leaf cannot fail or be affected by `rhs`, so evaluating it
            // second is unobservable.
            _ if lhs.is_leaf() => {
                self.expr(rhs, false);
                self.asm.mov_rr(Reg::Rcx, Reg::Rax);
                self.expr(lhs, false);
                Operand::Rcx
            }
            _ => {
                self.expr(lhs, false);
                let temp = self.push_temp();
                self.asm.mov_mr(temp, Reg::Rax);
                self.expr(rhs, false);
                self.asm.mov_rr(Reg::Rcx, Reg::Rax);
                self.asm.mov_rm(Reg::Rax, temp);
                self.pop_temp();
                Operand::Rcx
            }
        }
    }

    /// Puts the operand into `rcx` (shifts and division need it there).
    fn operand_to_rcx(&mut self, operand: Operand) {
        match operand {
            Operand::Imm(value) => self.asm.mov_ri(Reg::Rcx, value.into()),
            Operand::Mem(mem) => self.asm.mov_rm(Reg::Rcx, mem),
            Operand::Rcx => {}
        }
    }

    /// `rax = rax OP operand` for the two-operand ALU instructions.
    fn alu(
        &mut self,
        operand: Operand,
        rr: fn(&mut Assembler, Reg, Reg),
        ri: fn(&mut Assembler, Reg, i32),
        rm: fn(&mut Assembler, Reg, Mem),
    ) {
        match operand {
            Operand::Imm(value) => ri(self.asm, Reg::Rax, value),
            Operand::Mem(mem) => rm(self.asm, Reg::Rax, mem),
            Operand::Rcx => rr(self.asm, Reg::Rax, Reg::Rcx),
        }
    }

    fn arithmetic(&mut self, op: BinOp, op_span: Span, lhs: &ir::Expr, rhs: &ir::Expr) {
        let operand = self.operands(lhs, rhs);
        match op {
            BinOp::Add => self.alu(
                operand,
                Assembler::add_rr,
                Assembler::add_ri,
                Assembler::add_rm,
            ),
            BinOp::Sub => self.alu(
                operand,
                Assembler::sub_rr,
                Assembler::sub_ri,
                Assembler::sub_rm,
            ),
            BinOp::BitAnd => self.alu(
                operand,
                Assembler::and_rr,
                Assembler::and_ri,
                Assembler::and_rm,
            ),
            BinOp::BitOr => self.alu(
                operand,
                Assembler::or_rr,
                Assembler::or_ri,
                Assembler::or_rm,
            ),
            BinOp::BitXor => self.alu(
                operand,
                Assembler::xor_rr,
                Assembler::xor_ri,
                Assembler::xor_rm,
            ),
            BinOp::Mul => self.alu(
                operand,
                Assembler::imul_rr,
                |asm, dst, imm| asm.imul_rri(dst, dst, imm),
                Assembler::imul_rm,
            ),
            BinOp::Shl | BinOp::Shr => self.shift(op, operand),
            BinOp::Div | BinOp::Rem => self.divide(op, op_span, operand),
            _ => unreachable!("boolean operator {op} lowered as arithmetic"),
        }
    }

    /// Shifts use the count modulo 64, which is what the hardware does for
    /// 64-bit operands.
    fn shift(&mut self, op: BinOp, operand: Operand) {
        if let Operand::Imm(count) = operand {
            let count = (count & 63) as u8;
            if count != 0 {
                match op {
                    BinOp::Shl => self.asm.shl_ri(Reg::Rax, count),
                    _ => self.asm.sar_ri(Reg::Rax, count),
                }
            }
            return;
        }
        self.operand_to_rcx(operand);
        match op {
            BinOp::Shl => self.asm.shl_rcl(Reg::Rax),
            _ => self.asm.sar_rcl(Reg::Rax),
        }
    }

    /// Signed division or remainder of `rax` by the operand: traps on a zero
    /// divisor, and handles `i64::MIN / -1` (which `idiv` would fault on) as
    /// wrapping negation with remainder 0.
    fn divide(&mut self, op: BinOp, op_span: Span, operand: Operand) {
        let constant = match operand {
            Operand::Imm(value) => Some(value),
            _ => None,
        };
        if constant == Some(-1) {
            match op {
                BinOp::Div => self.asm.neg_r(Reg::Rax),
                _ => self.asm.mov_ri(Reg::Rax, 0),
            }
            return;
        }
        self.operand_to_rcx(operand);
        if constant.is_none_or(|value| value == 0) {
            let trap = self.stub(TrapKind::DivisionByZero { op_span });
            self.asm.test_rr(Reg::Rcx, Reg::Rcx);
            self.asm.jcc(Cond::E, trap);
        }
        let done = self.asm.new_label();
        if constant.is_none() {
            let ordinary = self.asm.new_label();
            self.asm.cmp_ri(Reg::Rcx, -1);
            self.asm.jcc(Cond::Ne, ordinary);
            match op {
                BinOp::Div => self.asm.neg_r(Reg::Rax),
                _ => self.asm.mov_ri(Reg::Rax, 0),
            }
            self.asm.jmp(done);
            self.asm.bind(ordinary);
        }
        self.asm.cqo();
        self.asm.idiv_r(Reg::Rcx);
        if op == BinOp::Rem {
            self.asm.mov_rr(Reg::Rax, Reg::Rdx);
        }
        self.asm.bind(done);
    }

    /// Materialises a comparison, `!`, `&&` or `||` as 0 or 1 in `rax`.
    fn bool_value(&mut self, expr: &ir::Expr) {
        match expr {
            ir::Expr::Binary { op, lhs, rhs, .. } if op.is_comparison() => {
                let operand = self.operands(lhs, rhs);
                self.compare(operand);
                self.asm.setcc(condition(*op), Reg::Rax);
                self.asm.movzx_r8(Reg::Rax, Reg::Rax);
            }
            ir::Expr::Unary {
                op: UnOp::Not,
                operand,
            } => {
                self.expr(operand, false);
                self.asm.test_rr(Reg::Rax, Reg::Rax);
                self.asm.setcc(Cond::E, Reg::Rax);
                self.asm.movzx_r8(Reg::Rax, Reg::Rax);
            }
            _ => {
                let is_false = self.asm.new_label();
                let end = self.asm.new_label();
                self.branch(expr, false, is_false);
                self.asm.mov_ri(Reg::Rax, 1);
                self.asm.jmp(end);
                self.asm.bind(is_false);
                self.asm.mov_ri(Reg::Rax, 0);
                self.asm.bind(end);
            }
        }
    }

    fn compare(&mut self, operand: Operand) {
        self.alu(
            operand,
            Assembler::cmp_rr,
            Assembler::cmp_ri,
            Assembler::cmp_rm,
        );
    }

    /// Jumps to `target` if the truth of `expr` (non-zero) equals `jump_if`,
    /// and falls through otherwise. Short-circuits `&&` and `||`.
    fn branch(&mut self, expr: &ir::Expr, jump_if: bool, target: Label) {
        match expr {
            ir::Expr::Int(value) => {
                if (*value != 0) == jump_if {
                    self.asm.jmp(target);
                }
            }
            ir::Expr::Unary {
                op: UnOp::Not,
                operand,
            } => self.branch(operand, !jump_if, target),
            ir::Expr::Binary { op, lhs, rhs, .. } if op.is_comparison() => {
                let operand = self.operands(lhs, rhs);
                self.compare(operand);
                let cond = condition(*op);
                self.asm
                    .jcc(if jump_if { cond } else { cond.invert() }, target);
            }
            // `a && b` is true when both are; `a || b` when either is. When
            // the left side alone decides the jump, test it against the same
            // target; otherwise skip over the right side.
            ir::Expr::Binary {
                op: op @ (BinOp::And | BinOp::Or),
                lhs,
                rhs,
                ..
            } => {
                let left_decides = (*op == BinOp::Or) == jump_if;
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
                self.expr(expr, false);
                self.asm.test_rr(Reg::Rax, Reg::Rax);
                self.asm
                    .jcc(if jump_if { Cond::Ne } else { Cond::E }, target);
            }
        }
    }

    /// Evaluates the non-leaf arguments, left to right, into temporaries;
    /// returns where each argument can be read from afterwards.
    fn evaluate_args(&mut self, args: &[ir::Expr]) -> Vec<Option<Mem>> {
        args.iter()
            .map(|arg| {
                if arg.is_leaf() {
                    None
                } else {
                    self.expr(arg, false);
                    let temp = self.push_temp();
                    self.asm.mov_mr(temp, Reg::Rax);
                    Some(temp)
                }
            })
            .collect()
    }

    /// Loads argument `arg` (evaluated by [`Self::evaluate_args`]) into `dst`.
    fn load_arg(&mut self, dst: Reg, arg: &ir::Expr, temp: Option<Mem>) {
        match (arg, temp) {
            (_, Some(temp)) => self.asm.mov_rm(dst, temp),
            (ir::Expr::Int(value), None) => self.asm.mov_ri(dst, *value),
            (ir::Expr::Local(local), None) => self.asm.mov_rm(dst, self.local_slot(*local)),
            _ => unreachable!("non-leaf argument without a temporary"),
        }
    }

    /// Places the arguments: stack arguments at `stack_slot(k)`, then the
    /// register arguments.
    fn place_args(&mut self, args: &[ir::Expr], stack_slot: impl Fn(usize) -> Mem) {
        let temps = self.evaluate_args(args);
        for (index, arg) in args.iter().enumerate().skip(ARG_REGS.len()) {
            self.load_arg(Reg::Rax, arg, temps[index]);
            self.asm
                .mov_mr(stack_slot(index - ARG_REGS.len()), Reg::Rax);
        }
        for (index, (arg, reg)) in args.iter().zip(ARG_REGS).enumerate() {
            self.load_arg(reg, arg, temps[index]);
        }
        for _ in temps.iter().flatten() {
            self.pop_temp();
        }
    }

    fn call(&mut self, func: FuncId, args: &[ir::Expr]) {
        self.max_outgoing = self.max_outgoing.max(stack_arg_count(args.len()));
        self.place_args(args, |k| Mem::new(Reg::Rsp, 8 * k as i32));
        self.asm.call(self.func_labels[func]);
    }

    /// A call in tail position: arguments go where this function's own came
    /// from (its parameters were copied to slots on entry, so overwriting the
    /// incoming area is safe), the frame is dropped, and the callee is
    /// entered by a jump.
    fn tail_call(&mut self, func: FuncId, args: &[ir::Expr]) {
        self.place_args(args, |k| Mem::new(Reg::Rbp, 16 + 8 * k as i32));
        self.emit_epilogue();
        self.asm.jmp(self.func_labels[func]);
    }
}

/// The frame slot of local or temporary number `index`, below `rbp`.
fn slot_disp(index: usize) -> i32 {
    -8 * (index as i32 + 1)
}

fn is_boolean(op: BinOp) -> bool {
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
