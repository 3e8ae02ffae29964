//! Lowering: the checked [`ir::Program`] onto the x86-64 [`Assembler`], in
//! one pass per function, in the style of V8's Liftoff and Wasmtime's Winch.
//!
//! Three layers, as in Winch: the encoder ([`crate::codegen::x64`]), the
//! virtual operand stack with its register allocator
//! ([`crate::codegen::regs`]), and this visitor, which walks the tree once
//! and chooses instructions as values are consumed:
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
//! `r15` ([`CONTEXT`]), which generated code never writes, so a stack check
//! is `cmp rsp, [r15]; jb overflow`. Every function that makes a call (tail
//! or not) checks on entry, so every loop (a tail call) and every recursion
//! passes a check; that is also what lets an interrupt (which raises the
//! limit) stop `fn loop(n) = loop(n + 1)`.
//!
//! Frames are shrink-wrapped: a function sets one up (callee-saved
//! registers, slots, an outgoing-argument area; `rbp` only when stack
//! arguments or a large frame need it) at the first point of a path that
//! needs it (`FuncLowering::ensure_frame`), so base cases return without
//! one. Both sides of a branch that joins again, and every jump of a branch
//! condition, see the same frame state. A frame stays within half of the
//! 16 KiB reserve below the limit, so the entry check covers it; a larger
//! one makes the function be emitted again with a second check right after
//! the frame is allocated, whose overflow stub resets `rsp` to `rbp` before
//! calling the trap exit. A function that makes no calls needs no check: it
//! uses at most such a frame below its caller's and finishes.
//!
//! Every function ends with its out-of-line trap stubs, each a `call` to
//! the shared trap exit; the return address of that call is the key of the
//! [`TrapSite`] describing the cause.

use crate::ast::{BinOp, Span, UnOp};
use crate::codegen::analysis::Facts;
use crate::codegen::divide::{DivisorKind, Magic, divisor_kind};
use crate::codegen::regs::{
    CALLEE_SAVED, CONTEXT, FIXED, Home, POOL, RegSet, SCRATCH, Src, Step, Val, sequence_moves,
};
use crate::codegen::x64::{Assembler, Cond, ImmSlot, Label, Mem, Reg};
use crate::ir::{self, FuncId, LocalId};
use crate::jit::runtime::{CTX_LIMIT, CTX_SAVED_RSP, CTX_TRAP_PC, LARGE_FRAME, STACK_BASE_MASK};

/// System V integer argument registers, in order.
pub const ARG_REGS: [Reg; 6] = [Reg::Rdi, Reg::Rsi, Reg::Rdx, Reg::Rcx, Reg::R8, Reg::R9];

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
        let facts = Facts::of(func, program);
        let traps_before = traps.len();
        let mut framed = !frameless_fits(func.arity, &facts);
        let mut check_frame = false;
        loop {
            let outcome = FuncLowering::new(
                &mut asm,
                program,
                &func_labels,
                trap_exit,
                &mut traps,
                id,
                &facts,
                framed,
                check_frame,
            )
            .function(func);
            match outcome {
                Outcome::Done => break,
                // The register bound of the analysis was not enough to do
                // without a frame (it is meant to be conservative): emit the
                // function again with one, where spilling is always possible.
                Outcome::OutOfRegisters => {
                    assert!(!framed, "register allocation failed in a framed function");
                    framed = true;
                }
                // The frame outgrew what the stack reserve covers: emit the
                // function again checking the limit after allocating it.
                Outcome::FrameTooLarge => check_frame = true,
            }
            asm.truncate(offset);
            traps.truncate(traps_before);
        }
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

/// Whether a function can do without a frame: it makes no calls except
/// tail calls without stack arguments, and its parameters plus the bound on
/// its temporaries fit the caller-saved registers.
fn frameless_fits(arity: usize, facts: &Facts) -> bool {
    if facts.calls || facts.tail_stack_args > 0 {
        return false;
    }
    let params = arity.min(ARG_REGS.len());
    if facts.registers + params > POOL.len() {
        return false;
    }
    let param_regs = RegSet::of(&ARG_REGS[..params]);
    let mut stable = 0;
    let mut relocated = 0;
    for reg in POOL {
        let fixed = facts.fixed_regs && FIXED.has(reg);
        if fixed && param_regs.has(reg) {
            relocated += 1;
        }
        if !fixed && !param_regs.has(reg) {
            stable += 1;
        }
    }
    facts.stable + relocated <= stable
}

/// How many of `arity` arguments are passed on the stack.
fn stack_arg_count(arity: usize) -> usize {
    arity.saturating_sub(ARG_REGS.len())
}

/// The state of the lowering at a branch, restored for the other side.
struct Snapshot {
    used: RegSet,
    slots: Vec<bool>,
    slot_hint: usize,
    depth: usize,
    frame_ready: bool,
    homes: Vec<Option<Home>>,
}

/// How emitting a function went.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Outcome {
    Done,
    /// A frameless attempt ran out of registers.
    OutOfRegisters,
    /// The frame is too large for the stack reserve below the limit.
    FrameTooLarge,
}

/// The lowering state of one function.
struct FuncLowering<'a> {
    asm: &'a mut Assembler,
    func_labels: &'a [Label],
    trap_exit: Label,
    traps: &'a mut Vec<TrapSite>,
    id: FuncId,
    /// Out-of-line trap stubs to emit after the body; `true` if the stub
    /// must first reset `rsp` to `rbp` (a failed check after the frame was
    /// allocated).
    stubs: Vec<(Label, TrapKind, bool)>,
    /// The function may set up a frame (`rbp`, callee-saved registers,
    /// slots); it does so only on the paths that need one
    /// ([`Self::ensure_frame`]), so a base case can return without it.
    framed: bool,
    /// The frame is set up at the current point of the code.
    frame_ready: bool,
    /// The frame is based on `rbp` (needed to address stack arguments while
    /// the frame's size is unknown, and by the checks of large frames);
    /// otherwise slots are addressed from `rsp` and `rbp` is left alone.
    use_rbp: bool,
    /// Check the stack limit again after allocating the frame (frames
    /// larger than the reserve below the limit).
    check_frame: bool,
    /// The function makes calls (tail or not): it checks the stack limit on
    /// entry.
    has_calls: bool,
    /// The function makes no calls except tail calls.
    leaf: bool,
    /// `rax`, `rcx` and `rdx` are needed by some instruction, so nothing
    /// that must stay put lives there.
    fixed: bool,
    /// The virtual operand stack.
    stack: Vec<Val>,
    /// Registers owned by a value or holding a variable.
    used: RegSet,
    /// Where each variable lives while it is in scope.
    homes: Vec<Option<Home>>,
    /// Callee-saved registers pushed in the prologue, in push order.
    saved: Vec<Reg>,
    /// Spill slots in use, by number.
    slots: Vec<bool>,
    /// No slot below this number is free (so that allocating is not a scan
    /// from 0 each time: a thousand nested `let`s would be quadratic).
    slot_hint: usize,
    /// Stack-argument area at the bottom of the frame, in 8-byte words.
    outgoing: usize,
    /// How many of this function's own parameters came on the stack.
    stack_params: usize,
    /// The `sub rsp, imm32` of each frame set-up, patched with the frame
    /// size.
    frame_size: Vec<ImmSlot>,
    /// A frameless function ran out of registers; it will be emitted again
    /// with a frame.
    failed: bool,
    /// The register the next allocation should take if it is free: the
    /// argument register of the call argument being evaluated, so that its
    /// value is computed in place.
    hint: Option<Reg>,
}

impl<'a> FuncLowering<'a> {
    #[allow(clippy::too_many_arguments)]
    fn new(
        asm: &'a mut Assembler,
        program: &'a ir::Program,
        func_labels: &'a [Label],
        trap_exit: Label,
        traps: &'a mut Vec<TrapSite>,
        id: FuncId,
        facts: &Facts,
        framed: bool,
        check_frame: bool,
    ) -> Self {
        let func = &program.funcs[id];
        let leaf = !facts.calls;
        let saved_wanted = if leaf {
            facts.lets + 2 + usize::from(facts.fixed_regs) * 2
        } else {
            func.arity.min(ARG_REGS.len()) + facts.lets + facts.pending_at_call
        };
        let saved = if framed {
            CALLEE_SAVED[..saved_wanted.min(CALLEE_SAVED.len())].to_vec()
        } else {
            Vec::new()
        };
        FuncLowering {
            asm,
            func_labels,
            trap_exit,
            traps,
            id,
            stubs: Vec::new(),
            framed,
            frame_ready: false,
            use_rbp: check_frame
                || func.arity > ARG_REGS.len()
                || facts.call_stack_args.max(facts.tail_stack_args) > 0,
            check_frame,
            has_calls: facts.calls || facts.tail_calls,
            leaf,
            fixed: facts.fixed_regs,
            stack: Vec::new(),
            used: RegSet::EMPTY,
            homes: vec![None; func.locals],
            saved,
            slots: Vec::new(),
            slot_hint: 0,
            outgoing: facts.call_stack_args.max(facts.tail_stack_args),
            stack_params: stack_arg_count(func.arity),
            frame_size: Vec::new(),
            failed: false,
            hint: None,
        }
    }

    /// Emits the function.
    fn function(mut self, func: &ir::Func) -> Outcome {
        self.asm.bind(self.func_labels[self.id]);
        // Every recursion and every loop passes a function entry that
        // makes a call: checking there stops both at the limit (and on an
        // interrupt). A function without calls cannot recurse and finishes.
        if self.has_calls {
            self.stack_check(false);
        }
        self.place_params(func.arity);
        self.ret_expr(&func.body);

        // Keep `rsp` 16-byte aligned at calls: the return address, `rbp` if
        // pushed, the callee-saved registers and the frame add up to a
        // multiple of 16.
        let words =
            1 + usize::from(self.use_rbp) + self.saved.len() + self.slots.len() + self.outgoing;
        let frame = 8 * (self.slots.len() + self.outgoing + words % 2);
        // Unchecked frames stay within half the reserve below the limit: a
        // caller checked on entry and a callee that makes no calls (so has
        // no check) together stay inside it.
        if !self.check_frame && 8 * self.saved.len() + frame + 64 >= LARGE_FRAME / 2 {
            return Outcome::FrameTooLarge;
        }
        let frame = i32::try_from(frame).expect("frame larger than 2 GiB");
        for slot in std::mem::take(&mut self.frame_size) {
            self.asm.patch_i32(slot, frame);
        }
        for (label, kind, reset) in std::mem::take(&mut self.stubs) {
            self.asm.bind(label);
            if reset {
                self.asm.mov_rr(Reg::Rsp, Reg::Rbp);
            }
            self.asm.call(self.trap_exit);
            self.traps.push(TrapSite {
                offset: self.asm.offset(),
                func: self.id,
                kind,
            });
        }
        if self.failed {
            Outcome::OutOfRegisters
        } else {
            Outcome::Done
        }
    }

    /// Traps unless `rsp` is at or above the limit; `reset` makes the stub
    /// first point `rsp` back at the saved `rbp` (after a frame was
    /// allocated below the limit).
    fn stack_check(&mut self, reset: bool) {
        let overflow = self.asm.new_label();
        self.stubs
            .push((overflow, TrapKind::StackOverflow { func: self.id }, reset));
        self.asm.cmp_rm(Reg::Rsp, Mem::new(CONTEXT, CTX_LIMIT));
        self.asm.jcc(Cond::B, overflow);
    }

    /// Sets up the frame if the current path has none yet: saves `rbp` and
    /// the callee-saved registers, allocates the slots, and in a function
    /// that calls moves the parameters to callee-saved registers. Emits no
    /// flag-reading code, but clobbers the flags (`sub rsp`).
    fn ensure_frame(&mut self) {
        if !self.framed || self.frame_ready {
            return;
        }
        self.frame_ready = true;
        if self.use_rbp {
            self.asm.push_r(Reg::Rbp);
            self.asm.mov_rr(Reg::Rbp, Reg::Rsp);
        }
        for reg in self.saved.clone() {
            self.asm.push_r(reg);
        }
        let slot = self.asm.sub_ri32(Reg::Rsp, 0);
        self.frame_size.push(slot);
        if self.check_frame {
            self.stack_check(true);
        }
        for param in 0..self.homes.len() {
            match self.homes[param] {
                Some(Home::Reg(reg)) if !self.leaf && POOL.contains(&reg) => {
                    let home = self.alloc_stable();
                    self.store(home, Src::Reg(reg));
                    self.used.remove(reg);
                    self.homes[param] = Some(home);
                }
                Some(Home::Mem(mem)) if mem.base == Reg::Rsp => {
                    // Incoming stack arguments, now addressed from `rbp`.
                    self.homes[param] = Some(Home::Mem(Mem::new(Reg::Rbp, mem.disp + 8)));
                }
                _ => {}
            }
        }
    }

    /// Gives every parameter its home: its argument register in a function
    /// that makes no calls (moved out of `rcx`/`rdx` if those are needed),
    /// else a callee-saved register or a slot; stack arguments stay where
    /// the caller put them.
    fn place_params(&mut self, arity: usize) {
        for (param, &reg) in ARG_REGS.iter().enumerate().take(arity) {
            self.used.insert(reg);
            self.homes[param] = Some(Home::Reg(reg));
        }
        for (param, &reg) in ARG_REGS.iter().enumerate().take(arity) {
            // Calls clobber argument registers; fixed instructions clobber
            // `rcx` and `rdx`.
            // (Parameters of a function that calls move when its frame is
            // set up.)
            let must_move = self.fixed && FIXED.has(reg);
            if !must_move {
                continue;
            }
            let home = self.alloc_stable();
            self.store(home, Src::Reg(reg));
            self.used.remove(reg);
            self.homes[param] = Some(home);
        }
        for param in ARG_REGS.len()..arity {
            let index = (param - ARG_REGS.len()) as i32;
            let mem = if self.frame_ready {
                Mem::new(Reg::Rbp, 16 + 8 * index)
            } else {
                Mem::new(Reg::Rsp, 8 + 8 * index)
            };
            self.homes[param] = Some(Home::Mem(mem));
        }
    }

    // ---- registers, slots and the operand stack ------------------------------

    /// A register that something in the function may move a value out of:
    /// all caller-saved registers when there is a frame (calls clobber
    /// them; slots and callee-saved registers are the stable places), else
    /// only the ones fixed instructions need.
    fn is_volatile(&self, reg: Reg) -> bool {
        POOL.contains(&reg) && (self.framed || (self.fixed && FIXED.has(reg)))
    }

    fn slot_mem(&self, slot: u32) -> Mem {
        if self.use_rbp {
            Mem::new(Reg::Rbp, -8 * (self.saved.len() as i32 + 1 + slot as i32))
        } else {
            // Above the outgoing-argument area at the bottom of the frame.
            Mem::new(Reg::Rsp, 8 * (self.outgoing as i32 + slot as i32))
        }
    }

    fn home_src(&self, home: Home) -> Src {
        match home {
            Home::Reg(reg) => Src::Reg(reg),
            Home::Slot(slot) => Src::Mem(self.slot_mem(slot)),
            Home::Mem(mem) => Src::Mem(mem),
        }
    }

    /// Where `val` can be read.
    fn src(&self, val: Val) -> Src {
        match val {
            Val::Const(value) => Src::Imm(value),
            Val::Reg(reg) => Src::Reg(reg),
            Val::Slot(slot) => Src::Mem(self.slot_mem(slot)),
            Val::Local(local) => self.home_src(self.homes[local].expect("variable in scope")),
        }
    }

    /// Releases what `val` owns.
    fn free(&mut self, val: Val) {
        match val {
            Val::Reg(reg) => self.used.remove(reg),
            Val::Slot(slot) => {
                self.slots[slot as usize] = false;
                self.slot_hint = self.slot_hint.min(slot as usize);
            }
            Val::Const(_) | Val::Local(_) => {}
        }
    }

    /// A free caller-saved register not in `avoid`; spills a waiting value
    /// if there is none (with a frame), or marks the attempt failed.
    fn alloc_reg(&mut self, avoid: RegSet) -> Reg {
        if let Some(reg) = self.hint.take()
            && !self.used.has(reg)
            && !avoid.has(reg)
        {
            self.used.insert(reg);
            return reg;
        }
        if let Some(reg) = POOL
            .into_iter()
            .find(|&r| !self.used.has(r) && !avoid.has(r))
        {
            self.used.insert(reg);
            return reg;
        }
        if self.frame_ready
            && let Some(&reg) = self.saved.iter().find(|&&r| !self.used.has(r))
        {
            self.used.insert(reg);
            return reg;
        }
        if self.framed {
            let victim = self
                .stack
                .iter()
                .position(|v| matches!(v, Val::Reg(r) if POOL.contains(r) && !avoid.has(*r)));
            if let Some(index) = victim {
                let Val::Reg(reg) = self.stack[index] else {
                    unreachable!()
                };
                let slot = self.alloc_slot();
                self.asm.mov_mr(self.slot_mem(slot), reg);
                self.stack[index] = Val::Slot(slot);
                return reg;
            }
        }
        self.failed = true;
        SCRATCH
    }

    fn alloc_slot(&mut self) -> u32 {
        self.ensure_frame();
        let slot = match self.slots[self.slot_hint..].iter().position(|used| !used) {
            Some(free) => self.slot_hint + free,
            None => {
                self.slots.push(false);
                self.slots.len() - 1
            }
        };
        self.slots[slot] = true;
        self.slot_hint = slot + 1;
        slot as u32
    }

    /// A place nothing else in the function disturbs: a callee-saved
    /// register or a slot with a frame, a register outside the fixed ones
    /// without.
    fn alloc_stable(&mut self) -> Home {
        if self.framed {
            self.ensure_frame();
            if let Some(&reg) = self.saved.iter().find(|&&r| !self.used.has(r)) {
                self.used.insert(reg);
                return Home::Reg(reg);
            }
            return Home::Slot(self.alloc_slot());
        }
        let avoid = if self.fixed { FIXED } else { RegSet::EMPTY };
        Home::Reg(self.alloc_reg(avoid))
    }

    fn store(&mut self, home: Home, src: Src) {
        match home {
            Home::Reg(reg) => self.load(reg, src),
            Home::Slot(slot) => {
                let mem = self.slot_mem(slot);
                self.store_mem(mem, src);
            }
            Home::Mem(_) => unreachable!("incoming arguments are never written"),
        }
    }

    fn store_mem(&mut self, mem: Mem, src: Src) {
        match src {
            Src::Reg(reg) => self.asm.mov_mr(mem, reg),
            Src::Mem(from) => {
                self.asm.mov_rm(SCRATCH, from);
                self.asm.mov_mr(mem, SCRATCH);
            }
            Src::Imm(value) => {
                self.asm.mov_ri(SCRATCH, value);
                self.asm.mov_mr(mem, SCRATCH);
            }
        }
    }

    /// `dst = src` (flags untouched).
    fn load(&mut self, dst: Reg, src: Src) {
        match src {
            Src::Reg(reg) if reg == dst => {}
            Src::Reg(reg) => self.asm.mov_rr(dst, reg),
            Src::Mem(mem) => self.asm.mov_rm(dst, mem),
            Src::Imm(value) => self.asm.mov_ri(dst, value),
        }
    }

    fn home_val(home: Home) -> Val {
        match home {
            Home::Reg(reg) => Val::Reg(reg),
            Home::Slot(slot) => Val::Slot(slot),
            Home::Mem(_) => unreachable!("incoming arguments are not owned"),
        }
    }

    fn pop(&mut self) -> Val {
        self.stack.pop().expect("operand stack underflow")
    }

    /// A register holding `val` that the caller may overwrite (the result
    /// register of an operation); never one in `avoid`. Consumes `val`.
    fn owned(&mut self, val: Val, avoid: RegSet) -> Reg {
        if let Val::Reg(reg) = val
            && !avoid.has(reg)
        {
            return reg;
        }
        // Where `val` is read is looked up after the allocation, which may
        // set up the frame (moving parameters, re-basing stack arguments).
        let reg = self.alloc_reg(avoid);
        let src = self.src(val);
        self.load(reg, src);
        self.free(val);
        reg
    }

    /// A register holding `val` for reading (a variable's own register if it
    /// has one); the second value is what to free afterwards.
    fn readable(&mut self, val: Val, avoid: RegSet) -> (Reg, Val) {
        match self.src(val) {
            Src::Reg(reg) if !avoid.has(reg) => (reg, val),
            _ => {
                let reg = self.alloc_reg(avoid);
                let src = self.src(val);
                self.load(reg, src);
                self.free(val);
                (reg, Val::Reg(reg))
            }
        }
    }

    /// A register holding `val` for reading by a fixed-register sequence
    /// (division): its own register if it is outside `rax`/`rcx`/`rdx`,
    /// else the scratch register, so that no allocation can fail here.
    fn readable_or_scratch(&mut self, val: Val) -> Reg {
        match self.src(val) {
            Src::Reg(reg) if !FIXED.has(reg) => reg,
            src => {
                self.load(SCRATCH, src);
                SCRATCH
            }
        }
    }

    /// An operand for an ALU instruction: an immediate if it fits in 32
    /// bits (else loaded into the scratch register), a register or memory.
    fn operand(&mut self, val: Val) -> Src {
        match self.src(val) {
            Src::Imm(value) if i32::try_from(value).is_err() => {
                self.asm.mov_ri(SCRATCH, value);
                Src::Reg(SCRATCH)
            }
            src => src,
        }
    }

    /// Moves every value waiting on the operand stack (below the top
    /// `keep`) that sits in a volatile register to a stable place, so that
    /// a call or the code on either side of a branch cannot disturb it.
    fn stabilize(&mut self, keep: usize) {
        let below = self.stack.len() - keep;
        for index in 0..below {
            if let Val::Reg(reg) = self.stack[index]
                && self.is_volatile(reg)
            {
                let home = self.alloc_stable();
                self.store(home, Src::Reg(reg));
                self.used.remove(reg);
                self.stack[index] = Self::home_val(home);
            }
        }
    }

    /// Frees `reg` for an instruction that needs it, moving the value on
    /// the operand stack that owns it elsewhere.
    fn evict(&mut self, reg: Reg) {
        if !self.used.has(reg) {
            return;
        }
        let Some(index) = self.stack.iter().position(|&v| v == Val::Reg(reg)) else {
            // Only operand-stack values are ever in fixed registers.
            self.failed = true;
            return;
        };
        let to = self.alloc_reg(FIXED);
        self.asm.mov_rr(to, reg);
        self.used.remove(reg);
        self.stack[index] = Val::Reg(to);
    }

    fn snapshot(&self) -> Snapshot {
        Snapshot {
            used: self.used,
            slots: self.slots.clone(),
            slot_hint: self.slot_hint,
            depth: self.stack.len(),
            frame_ready: self.frame_ready,
            homes: self.homes.clone(),
        }
    }

    fn restore(&mut self, snapshot: &Snapshot) {
        self.used = snapshot.used;
        let len = self.slots.len();
        self.slots.clone_from(&snapshot.slots);
        // Slots first used on the other side stay reserved in the frame.
        self.slots.resize(len, false);
        self.slot_hint = snapshot.slot_hint;
        self.stack.truncate(snapshot.depth);
        self.frame_ready = snapshot.frame_ready;
        self.homes.clone_from(&snapshot.homes);
    }

    /// Prepares a branch whose two sides join again: the frame is set up
    /// (so both sides agree on it) and waiting values are stable.
    fn before_join(&mut self) {
        self.ensure_frame();
        self.stabilize(0);
    }

    /// A new out-of-line trap stub for `kind`; returns its label.
    fn stub(&mut self, kind: TrapKind) -> Label {
        let label = self.asm.new_label();
        self.stubs.push((label, kind, false));
        label
    }

    // ---- expressions -------------------------------------------------------

    /// Evaluates `expr` in tail position: returns its value or jumps to the
    /// callee.
    fn ret_expr(&mut self, expr: &ir::Expr) {
        match expr {
            ir::Expr::If {
                cond,
                then_branch,
                else_branch,
            } if !self.can_select(cond, then_branch, else_branch) => {
                let else_label = self.asm.new_label();
                // Every jump the condition makes must see the same frame
                // state as its target, so the frame is set up first unless
                // the condition surely cannot set it up (no call, `if`,
                // `let` or value `&&`/`||`, and registers to spare).
                let free = POOL.iter().filter(|&&r| !self.used.has(r)).count();
                if cond_registers(cond).is_none_or(|need| need + 1 > free) {
                    self.ensure_frame();
                }
                self.branch(cond, false, else_label);
                let snapshot = self.snapshot();
                self.ret_expr(then_branch);
                self.asm.bind(else_label);
                self.restore(&snapshot);
                self.ret_expr(else_branch);
            }
            ir::Expr::Let { local, value, body } => {
                self.bind_local(*local, value);
                self.ret_expr(body);
                if let Some(home) = self.homes[*local].take()
                    && !matches!(home, Home::Mem(_))
                {
                    self.free(Self::home_val(home));
                }
            }
            ir::Expr::Call { func, args } => self.tail_call(*func, args),
            _ => {
                self.expr(expr);
                let val = self.pop();
                let src = self.src(val);
                self.load(Reg::Rax, src);
                self.free(val);
                self.emit_return();
            }
        }
    }

    fn emit_epilogue(&mut self) {
        if self.frame_ready {
            if self.use_rbp {
                let saved = 8 * self.saved.len() as i32;
                self.asm.lea(Reg::Rsp, Mem::new(Reg::Rbp, -saved));
            } else {
                let slot = self.asm.add_ri32(Reg::Rsp, 0);
                self.frame_size.push(slot);
            }
            for reg in self.saved.clone().into_iter().rev() {
                self.asm.pop_r(reg);
            }
            if self.use_rbp {
                self.asm.pop_r(Reg::Rbp);
            }
        }
    }

    /// Returns `rax`, popping this function's stack arguments.
    fn emit_return(&mut self) {
        self.emit_epilogue();
        let bytes = 8 * self.stack_params;
        match u16::try_from(bytes) {
            Ok(bytes) => self.asm.ret_pop(bytes),
            Err(_) => {
                self.asm.pop_r(SCRATCH);
                let bytes = i32::try_from(bytes).expect("stack arguments beyond 2 GiB");
                self.asm.lea(Reg::Rsp, Mem::new(Reg::Rsp, bytes));
                self.asm.jmp_r(SCRATCH);
            }
        }
    }

    /// Evaluates `expr` onto the operand stack.
    fn expr(&mut self, expr: &ir::Expr) {
        match expr {
            ir::Expr::Int(value) => self.stack.push(Val::Const(*value)),
            ir::Expr::Local(local) => self.stack.push(Val::Local(*local)),
            ir::Expr::Unary {
                op: op @ (UnOp::Neg | UnOp::BitNot),
                operand,
            } => {
                self.expr(operand);
                let val = self.pop();
                if let Val::Const(value) = val {
                    self.stack.push(Val::Const(op.apply(value)));
                    return;
                }
                let reg = self.owned(val, RegSet::EMPTY);
                match op {
                    UnOp::Neg => self.asm.neg_r(reg),
                    _ => self.asm.not_r(reg),
                }
                self.stack.push(Val::Reg(reg));
            }
            ir::Expr::Unary { op: UnOp::Not, .. } => self.bool_value(expr),
            ir::Expr::Binary { op, .. } if is_boolean(*op) => self.bool_value(expr),
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
            } => {
                self.before_join();
                let else_label = self.asm.new_label();
                let end = self.asm.new_label();
                self.branch(cond, false, else_label);
                let snapshot = self.snapshot();
                self.expr(then_branch);
                let val = self.pop();
                let result = self.owned(val, RegSet::EMPTY);
                self.asm.jmp(end);
                self.asm.bind(else_label);
                self.restore(&snapshot);
                self.expr(else_branch);
                let val = self.pop();
                let src = self.src(val);
                self.load(result, src);
                self.free(val);
                self.used.insert(result);
                self.asm.bind(end);
                self.stack.push(Val::Reg(result));
            }
            ir::Expr::Let { local, value, body } => {
                self.bind_local(*local, value);
                self.expr(body);
                let home = self.homes[*local].take().expect("bound above");
                if self.stack.last() == Some(&Val::Local(*local)) {
                    // The body's value is the variable: it takes over the home.
                    *self.stack.last_mut().expect("checked") = Self::home_val(home);
                } else {
                    self.free(Self::home_val(home));
                }
            }
            ir::Expr::Call { func, args } => self.call(*func, args),
        }
    }

    /// True if `if cond then a else b` can be computed without a branch:
    /// the condition is a comparison, both branches are small and cannot
    /// trap or call, and there are registers enough that nothing is spilled
    /// (so no instruction between the `cmp` and the `cmov` touches the
    /// flags or the frame). A branch on data is mispredicted half the time;
    /// computing both sides of a cheap `if` and picking one is faster.
    fn can_select(&self, cond: &ir::Expr, then_branch: &ir::Expr, else_branch: &ir::Expr) -> bool {
        let ir::Expr::Binary { op, lhs, rhs, .. } = cond else {
            return false;
        };
        if !op.is_comparison() {
            return false;
        }
        // Both results stay in registers while the other side and then
        // the condition are computed.
        let need = [
            select_operand_registers(then_branch).map(|n| n + 1),
            select_operand_registers(else_branch).map(|n| n + 2),
            cond_registers(cond).map(|n| n + 2),
            value_registers(lhs).map(|n| n + 2),
            value_registers(rhs).map(|n| n + 3),
        ]
        .into_iter()
        .try_fold(0, |most, need| Some(need?.max(most)));
        let free = POOL.iter().filter(|&&r| !self.used.has(r)).count();
        need.is_some_and(|need| need < free)
    }

    /// `if cond then a else b` as both values and a `cmov` (see
    /// [`Self::can_select`]). Evaluating the branches before the condition
    /// is unobservable: they cannot fail or have effects.
    fn select(&mut self, cond: &ir::Expr, then_branch: &ir::Expr, else_branch: &ir::Expr) {
        let ir::Expr::Binary { op, lhs, rhs, .. } = cond else {
            unreachable!("can_select admits only comparisons")
        };
        for branch in [then_branch, else_branch] {
            self.expr(branch);
            let val = self.pop();
            let reg = self.owned(val, RegSet::EMPTY);
            self.stack.push(Val::Reg(reg));
        }
        self.expr(lhs);
        self.expr(rhs);
        let outcome = self.compare(*op);
        let (Val::Reg(else_reg), Val::Reg(result)) = (self.pop(), self.pop()) else {
            unreachable!("can_select left registers enough that nothing spilled")
        };
        match outcome {
            Ok(cond) => self.asm.cmovcc(cond.invert(), result, else_reg),
            Err(true) => {}
            Err(false) => self.asm.mov_rr(result, else_reg),
        }
        self.free(Val::Reg(else_reg));
        self.stack.push(Val::Reg(result));
    }

    /// Evaluates `value` into a stable home for `local`.
    fn bind_local(&mut self, local: LocalId, value: &ir::Expr) {
        self.expr(value);
        let val = self.pop();
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
        self.homes[local] = Some(home);
    }

    /// Consumes the top two values and pushes `lhs OP rhs`.
    fn arithmetic(&mut self, op: BinOp, op_span: Span) {
        let n = self.stack.len();
        if let (Val::Const(a), Val::Const(b)) = (self.stack[n - 2], self.stack[n - 1])
            && let Some(value) = op.apply(a, b)
        {
            self.stack.truncate(n - 2);
            self.stack.push(Val::Const(value));
            return;
        }
        match op {
            BinOp::Shl | BinOp::Shr => self.shift(op),
            BinOp::Div | BinOp::Rem => self.divide(op, op_span),
            _ => self.alu(op),
        }
    }

    fn alu(&mut self, op: BinOp) {
        let mut rhs = self.pop();
        let mut lhs = self.pop();
        let commutative = matches!(
            op,
            BinOp::Add | BinOp::Mul | BinOp::BitAnd | BinOp::BitOr | BinOp::BitXor
        );
        // Constants go right (immediates); a caller-saved register on the
        // right is overwritten rather than copying the left operand.
        let owned_pool = |v: Val| matches!(v, Val::Reg(r) if POOL.contains(&r));
        if commutative && (matches!(lhs, Val::Const(_)) || (owned_pool(rhs) && !owned_pool(lhs))) {
            std::mem::swap(&mut lhs, &mut rhs);
        }
        if let Val::Const(c) = rhs {
            // The identities: the operation vanishes or gives a constant.
            match (op, c) {
                (BinOp::Add | BinOp::Sub | BinOp::BitOr | BinOp::BitXor, 0)
                | (BinOp::Mul, 1)
                | (BinOp::BitAnd, -1) => {
                    self.stack.push(lhs);
                    return;
                }
                (BinOp::Mul | BinOp::BitAnd, 0) => {
                    self.free(lhs);
                    self.stack.push(Val::Const(0));
                    return;
                }
                (BinOp::Mul, -1) | (BinOp::BitXor, -1) => {
                    let reg = self.owned(lhs, RegSet::EMPTY);
                    if op == BinOp::Mul {
                        self.asm.neg_r(reg);
                    } else {
                        self.asm.not_r(reg);
                    }
                    self.stack.push(Val::Reg(reg));
                    return;
                }
                (BinOp::Mul, c) if c > 0 && (c as u64).is_power_of_two() => {
                    let reg = self.owned(lhs, RegSet::EMPTY);
                    self.asm.shl_ri(reg, c.trailing_zeros() as u8);
                    self.stack.push(Val::Reg(reg));
                    return;
                }
                (BinOp::Mul, c) if i32::try_from(c).is_ok() => {
                    let (src, to_free) = self.readable(lhs, RegSet::EMPTY);
                    self.free(to_free);
                    let reg = self.alloc_reg(RegSet::EMPTY);
                    self.asm.imul_rri(reg, src, c as i32);
                    self.stack.push(Val::Reg(reg));
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
                        if let (Val::Local(_), Src::Reg(_)) = (lhs, self.src(lhs)) {
                            let reg = self.alloc_reg(RegSet::EMPTY);
                            match self.src(lhs) {
                                Src::Reg(home) => self.asm.lea(reg, Mem::new(home, delta)),
                                // Setting up the frame moved it to a slot.
                                src => {
                                    self.load(reg, src);
                                    self.asm.add_ri(reg, delta);
                                }
                            }
                            self.stack.push(Val::Reg(reg));
                        } else {
                            let reg = self.owned(lhs, RegSet::EMPTY);
                            self.asm.add_ri(reg, delta);
                            self.stack.push(Val::Reg(reg));
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
            self.stack.push(Val::Reg(reg));
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
        self.stack.push(Val::Reg(reg));
    }

    /// Shifts use the count modulo 64, which is what the hardware does for
    /// 64-bit operands.
    fn shift(&mut self, op: BinOp) {
        if let Some(&Val::Const(count)) = self.stack.last() {
            self.stack.pop();
            let count = (count & 63) as u8;
            let lhs = self.pop();
            if count == 0 {
                self.stack.push(lhs);
                return;
            }
            let reg = self.owned(lhs, RegSet::EMPTY);
            match op {
                BinOp::Shl => self.asm.shl_ri(reg, count),
                _ => self.asm.sar_ri(reg, count),
            }
            self.stack.push(Val::Reg(reg));
            return;
        }
        // The count must be in `cl`.
        if self.stack.last() != Some(&Val::Reg(Reg::Rcx)) {
            self.evict(Reg::Rcx);
        }
        let count = self.pop();
        let lhs = self.pop();
        let avoid = RegSet::EMPTY.with(Reg::Rcx);
        let reg = self.owned(lhs, avoid);
        let src = self.src(count);
        self.load(Reg::Rcx, src);
        self.free(count);
        match op {
            BinOp::Shl => self.asm.shl_rcl(reg),
            _ => self.asm.sar_rcl(reg),
        }
        self.stack.push(Val::Reg(reg));
    }

    /// Signed division or remainder of the top two values.
    fn divide(&mut self, op: BinOp, op_span: Span) {
        if let Some(&Val::Const(divisor)) = self.stack.last() {
            self.stack.pop();
            self.divide_by_constant(op, op_span, divisor);
        } else {
            self.divide_by_variable(op, op_span);
        }
    }

    fn divide_by_constant(&mut self, op: BinOp, op_span: Span, divisor: i64) {
        let rem = op == BinOp::Rem;
        match divisor_kind(divisor) {
            DivisorKind::Zero => {
                let trap = self.stub(TrapKind::DivisionByZero { op_span });
                self.asm.jmp(trap);
                let lhs = self.pop();
                self.free(lhs);
                self.stack.push(Val::Const(0));
            }
            DivisorKind::One | DivisorKind::MinusOne if rem => {
                let lhs = self.pop();
                self.free(lhs);
                self.stack.push(Val::Const(0));
            }
            DivisorKind::One => {}
            DivisorKind::MinusOne => {
                let lhs = self.pop();
                let reg = self.owned(lhs, RegSet::EMPTY);
                self.asm.neg_r(reg);
                self.stack.push(Val::Reg(reg));
            }
            DivisorKind::Min => {
                // x / MIN is 1 for MIN and 0 otherwise; x % MIN is 0 for MIN
                // and x otherwise.
                let lhs = self.pop();
                self.asm.mov_ri(SCRATCH, i64::MIN);
                if rem {
                    let reg = self.owned(lhs, RegSet::EMPTY);
                    let keep = self.asm.new_label();
                    self.asm.cmp_rr(reg, SCRATCH);
                    self.asm.jcc(Cond::Ne, keep);
                    self.asm.zero_r(reg);
                    self.asm.bind(keep);
                    self.stack.push(Val::Reg(reg));
                } else {
                    let (src, to_free) = self.readable(lhs, RegSet::EMPTY);
                    let reg = self.alloc_reg(RegSet::EMPTY);
                    self.asm.cmp_rr(src, SCRATCH);
                    self.asm.setcc(Cond::E, reg);
                    self.asm.movzx_r8(reg, reg);
                    self.free(to_free);
                    self.stack.push(Val::Reg(reg));
                }
            }
            DivisorKind::PowerOfTwo { shift, negative } => {
                // Round toward zero: add 2^k - 1 to negative dividends.
                let lhs = self.pop();
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
                    self.stack.push(Val::Reg(reg));
                } else {
                    let reg = self.owned(lhs, RegSet::EMPTY);
                    self.asm.add_rr(reg, SCRATCH);
                    self.asm.sar_ri(reg, shift as u8);
                    if negative {
                        self.asm.neg_r(reg);
                    }
                    self.stack.push(Val::Reg(reg));
                }
            }
            DivisorKind::Magic(magic) => self.divide_by_magic(rem, divisor, magic),
        }
    }

    /// `q = mulhi(x, M) (+/- x) >> s`, plus one if negative; `x - q * d`
    /// for the remainder. Uses `rax` and `rdx`.
    fn divide_by_magic(&mut self, rem: bool, divisor: i64, magic: Magic) {
        self.evict(Reg::Rax);
        self.evict(Reg::Rdx);
        let lhs = self.pop();
        let x = self.readable_or_scratch(lhs);
        self.used.insert(Reg::Rax);
        self.used.insert(Reg::Rdx);
        self.asm.mov_ri(Reg::Rax, magic.multiplier);
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
            self.used.remove(Reg::Rax);
            self.free(lhs);
            self.stack.push(Val::Reg(Reg::Rdx));
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
        self.used.remove(Reg::Rdx);
        self.free(lhs);
        self.stack.push(Val::Reg(Reg::Rax));
    }

    /// `idiv`, after a zero test (trap) and a `-1` test: `i64::MIN / -1`
    /// faults in hardware but wraps to `i64::MIN` (remainder 0) here.
    fn divide_by_variable(&mut self, op: BinOp, op_span: Span) {
        let n = self.stack.len();
        if self.stack[n - 2] != Val::Reg(Reg::Rax) {
            self.evict(Reg::Rax);
        }
        self.evict(Reg::Rdx);
        let divisor = self.pop();
        let lhs = self.pop();
        let d = self.readable_or_scratch(divisor);
        let src = self.src(lhs);
        self.load(Reg::Rax, src);
        if lhs != Val::Reg(Reg::Rax) {
            self.free(lhs);
        }
        self.used.insert(Reg::Rax);
        self.used.insert(Reg::Rdx);
        let trap = self.stub(TrapKind::DivisionByZero { op_span });
        self.asm.test_rr(d, d);
        self.asm.jcc(Cond::E, trap);
        let ordinary = self.asm.new_label();
        let done = self.asm.new_label();
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
        self.used.remove(other);
        self.stack.push(Val::Reg(result));
    }

    /// Consumes the top two values with a `cmp` (or `test`) and returns the
    /// condition under which comparison `op` holds, or the constant answer.
    fn compare(&mut self, op: BinOp) -> Result<Cond, bool> {
        let mut rhs = self.pop();
        let mut lhs = self.pop();
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
    fn set_on(&mut self, op: BinOp) {
        let n = self.stack.len();
        if let (Val::Const(a), Val::Const(b)) = (self.stack[n - 2], self.stack[n - 1]) {
            self.stack.truncate(n - 2);
            let value = op.apply(a, b).expect("comparisons always fold");
            self.stack.push(Val::Const(value));
            return;
        }
        let reg = self.alloc_reg(RegSet::EMPTY);
        let Ok(cond) = self.compare(op) else {
            unreachable!("constant comparisons folded above")
        };
        self.asm.setcc(cond, reg);
        self.asm.movzx_r8(reg, reg);
        self.stack.push(Val::Reg(reg));
    }

    /// Materialises a comparison, `!`, `&&` or `||` as 0 or 1.
    fn bool_value(&mut self, expr: &ir::Expr) {
        match expr {
            ir::Expr::Binary { op, lhs, rhs, .. } if op.is_comparison() => {
                self.expr(lhs);
                self.expr(rhs);
                self.set_on(*op);
            }
            ir::Expr::Unary {
                op: UnOp::Not,
                operand,
            } => {
                self.expr(operand);
                self.stack.push(Val::Const(0));
                self.set_on(BinOp::Eq);
            }
            _ => {
                self.before_join();
                let is_false = self.asm.new_label();
                let end = self.asm.new_label();
                self.branch(expr, false, is_false);
                let reg = self.alloc_reg(RegSet::EMPTY);
                self.asm.mov_ri(reg, 1);
                self.asm.jmp(end);
                self.asm.bind(is_false);
                self.asm.mov_ri(reg, 0);
                self.asm.bind(end);
                self.stack.push(Val::Reg(reg));
            }
        }
    }

    /// Jumps to `target` if the truth of `expr` (non-zero) equals `jump_if`,
    /// and falls through otherwise. Short-circuits `&&` and `||`. Consumes
    /// everything it evaluates before any jump, so the operand stack is the
    /// same on both paths.
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
                self.expr(lhs);
                self.expr(rhs);
                self.jump_on(*op, jump_if, target);
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
                self.expr(expr);
                self.stack.push(Val::Const(0));
                self.jump_on(BinOp::Ne, jump_if, target);
            }
        }
    }

    fn jump_on(&mut self, op: BinOp, jump_if: bool, target: Label) {
        match self.compare(op) {
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

    /// Evaluates the arguments onto the operand stack.
    fn push_args(&mut self, args: &[ir::Expr]) -> usize {
        for (index, arg) in args.iter().enumerate() {
            self.hint = ARG_REGS.get(index).copied();
            self.expr(arg);
            self.hint = None;
        }
        self.stack.len() - args.len()
    }

    /// Stores the arguments past the sixth at `[rsp + 8k]` and moves the
    /// first six into their registers, then frees them all.
    fn place_args(&mut self, base: usize) {
        let args: Vec<Val> = self.stack.drain(base..).collect();
        for (k, &arg) in args.iter().enumerate().skip(ARG_REGS.len()) {
            let src = self.src(arg);
            let at = Mem::new(Reg::Rsp, 8 * (k - ARG_REGS.len()) as i32);
            self.store_mem(at, src);
        }
        let moves = args
            .iter()
            .zip(ARG_REGS)
            .map(|(&arg, reg)| (reg, self.src(arg)))
            .collect();
        for step in sequence_moves(moves) {
            match step {
                Step::Move(dst, src) => self.load(dst, src),
                Step::Swap(a, b) => self.asm.xchg_rr(a, b),
            }
        }
        for arg in args {
            self.free(arg);
        }
    }

    fn call(&mut self, func: FuncId, args: &[ir::Expr]) {
        self.ensure_frame();
        let base = self.push_args(args);
        // Values waiting below the arguments must survive the call.
        self.stabilize(args.len());
        self.place_args(base);
        self.asm.call(self.func_labels[func]);
        let popped = 8 * stack_arg_count(args.len()) as i32;
        if popped > 0 {
            // The callee popped its stack arguments; the area is reused.
            self.asm.sub_ri(Reg::Rsp, popped);
        }
        self.used.insert(Reg::Rax);
        self.stack.push(Val::Reg(Reg::Rax));
    }

    /// A call in tail position: the arguments replace this function's own
    /// (moving the return address when their number on the stack differs),
    /// the frame is dropped and the callee entered by a jump. (When the
    /// numbers of stack arguments differ by an odd count the callee starts
    /// with `rsp` off 16-byte alignment by 8; JIT code never relies on the
    /// alignment, and the trampoline restores `rsp` itself.)
    fn tail_call(&mut self, func: FuncId, args: &[ir::Expr]) {
        let outgoing = stack_arg_count(args.len()) as i32;
        if outgoing > 0 {
            // The arguments are assembled in the frame's outgoing area.
            self.ensure_frame();
        }
        let base = self.push_args(args);
        let target = self.func_labels[func];
        let incoming = self.stack_params as i32;
        self.place_args(base);
        if !self.frame_ready {
            if incoming > 0 {
                self.asm.mov_rm(SCRATCH, Mem::new(Reg::Rsp, 0));
                self.asm.mov_mr(Mem::new(Reg::Rsp, 8 * incoming), SCRATCH);
                self.asm.lea(Reg::Rsp, Mem::new(Reg::Rsp, 8 * incoming));
            }
            self.asm.jmp(target);
            return;
        }
        if outgoing == 0 && incoming == 0 {
            self.emit_epilogue();
            self.asm.jmp(target);
            return;
        }
        // Return address to r11, caller's rbp to r10, callee-saved registers
        // restored, then the outgoing arguments copied (from the top down,
        // the destination lying above the source) to end where this
        // function's own arguments ended.
        self.asm.mov_rm(SCRATCH, Mem::new(Reg::Rbp, 8));
        self.asm.mov_rm(Reg::R10, Mem::new(Reg::Rbp, 0));
        for (index, &reg) in self.saved.iter().enumerate() {
            self.asm
                .mov_rm(reg, Mem::new(Reg::Rbp, -8 * (index as i32 + 1)));
        }
        let dest = 16 + 8 * incoming - 8 * outgoing;
        for k in (0..outgoing).rev() {
            self.asm.mov_rm(Reg::Rax, Mem::new(Reg::Rsp, 8 * k));
            self.asm.mov_mr(Mem::new(Reg::Rbp, dest + 8 * k), Reg::Rax);
        }
        self.asm.lea(Reg::Rsp, Mem::new(Reg::Rbp, dest - 8));
        self.asm.mov_mr(Mem::new(Reg::Rsp, 0), SCRATCH);
        self.asm.mov_rr(Reg::Rbp, Reg::R10);
        self.asm.jmp(target);
    }
}

/// The registers evaluating `cond` as a branch condition needs, or `None`
/// if it may need more than registers (a call, a nested `if` or `let`, a
/// `&&`/`||` used as a number).
fn cond_registers(cond: &ir::Expr) -> Option<usize> {
    match cond {
        ir::Expr::Unary {
            op: UnOp::Not,
            operand,
        } => cond_registers(operand),
        ir::Expr::Binary {
            op: BinOp::And | BinOp::Or,
            lhs,
            rhs,
            ..
        } => Some(cond_registers(lhs)?.max(cond_registers(rhs)?)),
        // A comparison allocates nothing itself (`cmp` reads variables and
        // immediates in place).
        ir::Expr::Binary { op, lhs, rhs, .. } if op.is_comparison() => {
            Some(value_registers(lhs)?.max(value_registers(rhs)? + 1))
        }
        _ => Some(value_registers(cond)? + 1),
    }
}

/// The registers evaluating `expr` as a value needs (a constant or a
/// variable none: they are read in place), if it has no calls, branches or
/// bindings.
/// For a small expression that cannot trap, call or branch (worth
/// computing even when its value is then thrown away, see
/// `FuncLowering::can_select`): how many registers computing it takes
/// besides its result's. `None` for anything else.
fn select_operand_registers(expr: &ir::Expr) -> Option<usize> {
    const MAX_NODES: usize = 7;
    fn walk(expr: &ir::Expr, nodes: &mut usize) -> Option<usize> {
        *nodes += 1;
        if *nodes > MAX_NODES {
            return None;
        }
        match expr {
            ir::Expr::Int(_) | ir::Expr::Local(_) => Some(0),
            ir::Expr::Unary { operand, .. } => walk(operand, nodes),
            ir::Expr::Binary {
                op: BinOp::Div | BinOp::Rem | BinOp::And | BinOp::Or,
                ..
            } => None,
            ir::Expr::Binary { lhs, rhs, .. } => Some(walk(lhs, nodes)?.max(walk(rhs, nodes)? + 1)),
            ir::Expr::Call { .. } | ir::Expr::If { .. } | ir::Expr::Let { .. } => None,
        }
    }
    walk(expr, &mut 0)
}

fn value_registers(expr: &ir::Expr) -> Option<usize> {
    match expr {
        ir::Expr::Int(_) | ir::Expr::Local(_) => Some(0),
        ir::Expr::Unary { operand, .. } => Some(value_registers(operand)? + 1),
        ir::Expr::Binary {
            op: BinOp::And | BinOp::Or,
            ..
        } => None,
        ir::Expr::Binary { lhs, rhs, .. } => {
            Some(value_registers(lhs)?.max(value_registers(rhs)? + 1).max(3) + 1)
        }
        ir::Expr::Call { .. } | ir::Expr::If { .. } | ir::Expr::Let { .. } => None,
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

/// Callee-saved registers the entry trampoline preserves for Rust, because a
/// trap leaves JIT frames without running their epilogues (and JIT code
/// keeps [`CONTEXT`] in one of them).
const PRESERVED_FOR_RUST: [Reg; 5] = [Reg::Rbx, Reg::R12, Reg::R13, Reg::R14, Reg::R15];

/// Emits the entry trampoline and the shared trap exit; returns the
/// trampoline's offset. See `EnterFn` in [`crate::jit::runtime`].
fn emit_trampoline(asm: &mut Assembler, trap_exit: Label) -> usize {
    let enter = asm.offset();
    asm.push_r(Reg::Rbp);
    asm.mov_rr(Reg::Rbp, Reg::Rsp);
    for reg in PRESERVED_FOR_RUST {
        asm.push_r(reg);
    }
    // rdi = context, rsi = entry, rdx = new stack pointer, rcx = register args.
    asm.mov_rr(CONTEXT, Reg::Rdi);
    asm.mov_mr(Mem::new(Reg::Rdi, CTX_SAVED_RSP), Reg::Rsp);
    asm.mov_rr(Reg::Rax, Reg::Rsi);
    asm.mov_rr(Reg::R11, Reg::Rcx);
    asm.mov_rr(Reg::Rsp, Reg::Rdx);
    for (index, reg) in ARG_REGS.into_iter().enumerate() {
        asm.mov_rm(reg, Mem::new(Reg::R11, 8 * index as i32));
    }
    asm.call_r(Reg::Rax);
    asm.mov_rm(Reg::Rsp, Mem::new(CONTEXT, CTX_SAVED_RSP));
    let restore = asm.new_label();
    asm.bind(restore);
    for reg in PRESERVED_FOR_RUST.into_iter().rev() {
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
