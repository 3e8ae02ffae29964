//! Lowering: one function of the checked [`ir::Program`] onto the x86-64
//! [`Assembler`], in one pass, in the style of V8's Liftoff and Wasmtime's
//! Winch.
//!
//! Three layers, as in Winch: the encoder ([`crate::codegen::x64`]), the
//! virtual operand stack with its register allocator ([`stack`]) and the
//! frame ([`frame`]), and this visitor, which walks the tree once and
//! chooses instructions as values are consumed. The visitor only calls
//! helpers, grouped by what they lower: [`arith`] (ALU operations, shifts,
//! division), [`cond`] (comparisons, branches, `cmov`) and [`call`] (calls
//! and tail calls).
//!
//! * Values stay in registers. A constant is an immediate or folds away
//!   (with the language's wrapping semantics); a variable is read where it
//!   lives; only values that must survive a call or a branch move to a
//!   callee-saved register or a frame slot.
//! * Parameters stay in their argument registers in functions that make no
//!   calls, and such functions need no frame; functions that call keep
//!   their variables in callee-saved registers.
//! * Comparisons feeding `if`, `&&`, `||` and `!` become `cmp` + `jcc`;
//!   `setcc` only when the value is used as a number. An `if` whose
//!   condition is a comparison and whose branches are small and cannot trap
//!   is `cmp` + `cmov`, with no branch to mispredict.
//! * Multiplication by a power of two is a shift; division by a constant
//!   never tests for zero and uses shifts (powers of two) or a multiply by a
//!   magic number ([`crate::codegen::divide`]).
//! * Calls in tail position are jumps, whatever the number of arguments:
//!   arguments past the sixth go on the stack and the callee pops them
//!   (`ret imm16`), so a tail call can change their number.
//!
//! # Frames and the runtime contract
//!
//! The entry trampoline puts the address of the stack's context record in
//! `r15` ([`CONTEXT`](crate::abi::CONTEXT)), which generated code never
//! writes, so a stack check is `cmp rsp, [r15]; jb overflow`. Every function
//! that makes a call (tail or not) checks on entry, so every loop (a tail
//! call) and every recursion passes a check; that is also what lets an
//! interrupt (which raises the limit) stop `fn loop(n) = loop(n + 1)`.
//!
//! Frames are shrink-wrapped: a function sets one up (callee-saved
//! registers, slots, an outgoing-argument area; `rbp` only when stack
//! arguments or a large frame need it) at the first point of a path that
//! needs it ([`FuncLowering::ensure_frame`]), so base cases return without
//! one. Both sides of a branch that joins again, and every jump of a branch
//! condition, see the same frame state. A frame stays within
//! [`MAX_UNCHECKED_FRAME`](crate::abi::MAX_UNCHECKED_FRAME), so the entry
//! check covers it; a larger one makes the function be emitted again with a
//! second check right after the frame is allocated, whose overflow stub
//! resets `rsp` to `rbp` before calling the trap exit. A function that
//! makes no calls needs no check: it uses at most such a frame below its
//! caller's and finishes.
//!
//! Every function ends with its out-of-line trap stubs, each a `call` to
//! the shared trap exit; the return address of that call is the key of the
//! [`TrapSite`] describing the cause.

mod arith;
mod call;
mod cond;
mod frame;
mod stack;

use crate::abi::{ARG_REGS, Reg};
use crate::artifact::{TrapKind, TrapSite};
use crate::ast::UnOp;
use crate::codegen::analysis::Facts;
use crate::codegen::regs::{FIXED, Home, POOL, RegSet, Val};
use crate::codegen::x64::{Assembler, Label};
use crate::ir::{self, FuncId, LocalId};
use frame::Frame;
use stack::ValueStack;

/// Where a function's code can jump: every function's entry, and the
/// shared trap exit.
pub(crate) struct Links {
    pub(crate) funcs: Vec<Label>,
    pub(crate) trap_exit: Label,
}

/// Emits function `id` of `program` at the assembler's current offset,
/// appending its trap sites to `traps`. Tries without a frame first when the
/// analysis allows, and again with one (or with a frame check) when an
/// attempt says it needs it.
pub(crate) fn function(
    asm: &mut Assembler,
    program: &ir::Program,
    links: &Links,
    traps: &mut Vec<TrapSite>,
    id: FuncId,
) {
    let func = &program.funcs[id];
    let offset = asm.offset();
    let facts = Facts::of(func, program);
    let traps_before = traps.len();
    let mut framed = !frame::frameless_fits(func.arity, &facts);
    let mut check_frame = false;
    loop {
        let frame = Frame::new(func.arity, &facts, framed, check_frame);
        match FuncLowering::new(asm, links, traps, id, func, &facts, frame).emit(func) {
            Attempt::Done => return,
            // The register bound of the analysis was not enough to do
            // without a frame (it is meant to be conservative): emit the
            // function again with one, where spilling is always possible.
            Attempt::OutOfRegisters => {
                assert!(!framed, "register allocation failed in a framed function");
                framed = true;
            }
            // The frame outgrew what the stack reserve covers: emit the
            // function again checking the limit after allocating it.
            Attempt::FrameTooLarge => check_frame = true,
        }
        asm.truncate(offset);
        traps.truncate(traps_before);
    }
}

/// How one attempt at emitting a function went.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Attempt {
    Done,
    /// A frameless attempt ran out of registers.
    OutOfRegisters,
    /// The frame is too large for the stack reserve below the limit.
    FrameTooLarge,
}

/// What the analysis decided about the function, fixed for the whole
/// attempt.
#[derive(Copy, Clone, Debug)]
struct Shape {
    /// The function makes calls (tail or not), so it checks the stack limit
    /// on entry: every loop and every recursion passes such a check.
    checks_stack: bool,
    /// The function makes no calls except tail calls: nothing it holds must
    /// survive a call, so its parameters can stay in argument registers.
    only_tail_calls: bool,
    /// Some instruction needs `rax`, `rcx` or `rdx` in particular, so
    /// nothing that must stay put lives there.
    uses_fixed_regs: bool,
}

/// An out-of-line trap stub to emit after the body.
struct Stub {
    label: Label,
    kind: TrapKind,
    /// Point `rsp` back at `rbp` first (a failed check after the frame was
    /// allocated below the limit).
    reset_rsp: bool,
}

/// The lowering state of one function: the assembler, where it may jump,
/// the frame, the operand stack with its registers, and the trap stubs.
struct FuncLowering<'a> {
    asm: &'a mut Assembler,
    links: &'a Links,
    traps: &'a mut Vec<TrapSite>,
    id: FuncId,
    shape: Shape,
    frame: Frame,
    values: ValueStack,
    stubs: Vec<Stub>,
    /// A frameless attempt ran out of registers; it will be emitted again
    /// with a frame.
    out_of_registers: bool,
}

impl<'a> FuncLowering<'a> {
    fn new(
        asm: &'a mut Assembler,
        links: &'a Links,
        traps: &'a mut Vec<TrapSite>,
        id: FuncId,
        func: &ir::Func,
        facts: &Facts,
        frame: Frame,
    ) -> Self {
        FuncLowering {
            asm,
            links,
            traps,
            id,
            shape: Shape {
                checks_stack: facts.non_tail_calls || facts.tail_calls,
                only_tail_calls: !facts.non_tail_calls,
                uses_fixed_regs: facts.uses_fixed_regs,
            },
            frame,
            values: ValueStack::new(func.locals),
            stubs: Vec::new(),
            out_of_registers: false,
        }
    }

    /// Emits the function: entry check, parameters, body, then the frame
    /// size patched in and the trap stubs.
    fn emit(mut self, func: &ir::Func) -> Attempt {
        self.asm.bind(self.links.funcs[self.id]);
        // Every recursion and every loop passes a function entry that
        // makes a call: checking there stops both at the limit (and on an
        // interrupt). A function without calls cannot recurse and finishes.
        if self.shape.checks_stack {
            self.stack_check(false);
        }
        self.place_params(func.arity);
        self.tail_expr(&func.body);
        if !self.patch_frame_size() {
            return Attempt::FrameTooLarge;
        }
        self.emit_stubs();
        if self.out_of_registers {
            Attempt::OutOfRegisters
        } else {
            Attempt::Done
        }
    }

    /// Binds each trap stub after the body: a `call` to the trap exit,
    /// whose return address is the trap site's key.
    fn emit_stubs(&mut self) {
        for stub in std::mem::take(&mut self.stubs) {
            self.asm.bind(stub.label);
            if stub.reset_rsp {
                self.asm.mov_rr(Reg::Rsp, Reg::Rbp);
            }
            self.asm.call(self.links.trap_exit);
            self.traps.push(TrapSite {
                offset: self.asm.offset(),
                func: self.id,
                kind: stub.kind,
            });
        }
    }

    /// A new out-of-line trap stub for `kind`; returns its label.
    fn stub(&mut self, kind: TrapKind, reset_rsp: bool) -> Label {
        let label = self.asm.new_label();
        self.stubs.push(Stub {
            label,
            kind,
            reset_rsp,
        });
        label
    }

    /// Gives every parameter its home: its argument register in a function
    /// that makes no calls (moved out of `rcx`/`rdx` if those are needed),
    /// else a callee-saved register or a slot; stack arguments stay where
    /// the caller put them.
    fn place_params(&mut self, arity: usize) {
        for (param, &reg) in ARG_REGS.iter().enumerate().take(arity) {
            self.values.used.insert(reg);
            self.values.homes[param] = Some(Home::Reg(reg));
        }
        for (param, &reg) in ARG_REGS.iter().enumerate().take(arity) {
            // Fixed instructions clobber `rcx` and `rdx`. (Parameters of a
            // function that calls move when its frame is set up.)
            if !(self.shape.uses_fixed_regs && FIXED.has(reg)) {
                continue;
            }
            let home = self.alloc_stable();
            self.store(home, crate::codegen::regs::Src::Reg(reg));
            self.values.used.remove(reg);
            self.values.homes[param] = Some(home);
        }
        for param in ARG_REGS.len()..arity {
            let index = (param - ARG_REGS.len()) as i32;
            self.values.homes[param] = Some(Home::Mem(self.frame.stack_param(index)));
        }
    }

    // ---- the visitor -------------------------------------------------------

    /// Evaluates `expr` in tail position: returns its value or jumps to the
    /// callee.
    fn tail_expr(&mut self, expr: &ir::Expr) {
        match expr {
            ir::Expr::If {
                cond,
                then_branch,
                else_branch,
            } if !self.can_select(cond, then_branch, else_branch) => {
                let else_label = self.asm.new_label();
                self.prepare_branch_frame(cond);
                self.branch(cond, false, else_label);
                let snapshot = self.snapshot();
                self.tail_expr(then_branch);
                self.asm.bind(else_label);
                self.restore(&snapshot);
                self.tail_expr(else_branch);
            }
            ir::Expr::Let { local, value, body } => {
                self.bind_local(*local, value);
                self.tail_expr(body);
                if let Some(home) = self.values.homes[*local].take()
                    && !matches!(home, Home::Mem(_))
                {
                    self.free(home.owned_val());
                }
            }
            ir::Expr::Call { func, args } => self.tail_call(*func, args),
            _ => {
                self.expr(expr);
                let val = self.values.pop();
                let src = self.src(val);
                self.load(Reg::Rax, src);
                self.free(val);
                self.emit_return();
            }
        }
    }

    /// Evaluates `expr` onto the operand stack.
    fn expr(&mut self, expr: &ir::Expr) {
        match expr {
            ir::Expr::Int(value) => self.values.push(Val::Const(*value)),
            ir::Expr::Local(local) => self.values.push(Val::Local(*local)),
            ir::Expr::Unary {
                op: op @ (UnOp::Neg | UnOp::BitNot),
                operand,
            } => {
                self.expr(operand);
                self.unary(*op);
            }
            ir::Expr::Unary { op: UnOp::Not, .. } => self.bool_value(expr),
            ir::Expr::Binary { op, .. } if cond::is_boolean(*op) => self.bool_value(expr),
            ir::Expr::Binary {
                op,
                op_span,
                lhs,
                rhs,
            } => {
                self.expr(lhs);
                self.expr(rhs);
                self.arithmetic(*op, *op_span);
            }
            ir::Expr::If {
                cond,
                then_branch,
                else_branch,
            } if self.can_select(cond, then_branch, else_branch) => {
                self.select(cond, then_branch, else_branch);
            }
            ir::Expr::If {
                cond,
                then_branch,
                else_branch,
            } => self.if_value(cond, then_branch, else_branch),
            ir::Expr::Let { local, value, body } => {
                self.bind_local(*local, value);
                self.expr(body);
                let home = self.values.homes[*local].take().expect("bound above");
                if self.values.top() == Some(Val::Local(*local)) {
                    // The body's value is the variable: it takes over the home.
                    self.values.replace_top(home.owned_val());
                } else {
                    self.free(home.owned_val());
                }
            }
            ir::Expr::Call { func, args } => self.call(*func, args),
        }
    }

    /// `if` as a value, with a branch: both sides leave their value in the
    /// same register.
    fn if_value(&mut self, cond: &ir::Expr, then_branch: &ir::Expr, else_branch: &ir::Expr) {
        self.before_join();
        let else_label = self.asm.new_label();
        let end = self.asm.new_label();
        self.branch(cond, false, else_label);
        let snapshot = self.snapshot();
        self.expr(then_branch);
        let val = self.values.pop();
        let result = self.owned(val, RegSet::EMPTY);
        self.asm.jmp(end);
        self.asm.bind(else_label);
        self.restore(&snapshot);
        self.expr(else_branch);
        let val = self.values.pop();
        let src = self.src(val);
        self.load(result, src);
        self.free(val);
        self.values.used.insert(result);
        self.asm.bind(end);
        self.values.push(Val::Reg(result));
    }

    /// Evaluates `value` into a stable home for `local`.
    fn bind_local(&mut self, local: LocalId, value: &ir::Expr) {
        self.expr(value);
        let val = self.values.pop();
        let home = match val {
            Val::Reg(reg) if !self.is_volatile(reg) => Home::Reg(reg),
            Val::Slot(slot) => Home::Slot(slot),
            _ => {
                let home = self.alloc_stable();
                let src = self.src(val);
                self.store(home, src);
                self.free(val);
                home
            }
        };
        self.values.homes[local] = Some(home);
    }

    /// The free registers of the allocation pool.
    fn free_pool_registers(&self) -> usize {
        POOL.iter().filter(|&&r| !self.values.used.has(r)).count()
    }
}
