//! Lowering: one function of the checked [`ir::CheckedProgram`] onto the x86-64
//! [`Assembler`], in one pass, in the style of V8's Liftoff and Wasmtime's
//! Winch.
//!
//! Three layers, as in Winch: the encoder ([`crate::codegen::x64`]), the
//! virtual operand stack with its register allocator ([`stack`]) and the
//! frame ([`frame`]), and this visitor, which walks the IR once and
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
mod bind;
mod call;
mod cond;
mod debug;
mod frame;
mod layout;
mod loops;
mod stack;

use crate::abi::{ARG_REGS, Reg};
use crate::artifact::{TrapKind, TrapSite};
use crate::ast::UnOp;
use crate::codegen::analysis::{Facts, additive_self_call};
use crate::codegen::debug::Recorder;
use crate::codegen::inline::InlinePlan;
use crate::codegen::regs::{Home, POOL, RegSet, Src, Val};
use crate::codegen::x64::{Assembler, Label};
use crate::ir::{self, FuncId, LocalId};
use frame::Frame;
use smallvec::SmallVec;
use layout::Layout;
use stack::ValueStack;

// Per-function lists are short (a handful of values, variables, saved
// registers): kept inline, they cost no allocation per function or per
// branch snapshot, which dominated compile time once the lowering kept
// more state.
/// Where each variable lives (see [`stack::ValueStack::homes`]).
type Homes = SmallVec<[Option<Home>; 16]>;
/// Which spill slots are in use.
type Slots = SmallVec<[bool; 16]>;

/// What every function's lowering shares: the program, which calls are
/// expanded in place, and where code can jump (every function's entry, and
/// the shared trap exit). One per thread emitting functions (each into its
/// own [`Assembler`], whose labels are numbered alike, and with its own
/// inlining plan: see `codegen::shards`).
pub(crate) struct Links<'p> {
    pub(crate) program: &'p ir::CheckedProgram,
    /// The function table's address, for calls to external functions
    /// ([`crate::codegen::Options::function_table`]).
    pub(crate) function_table: Option<u64>,
    pub(crate) inline: InlinePlan<'p>,
    pub(crate) funcs: Vec<Label>,
    pub(crate) trap_exit: Label,
}

/// What lowering functions adds to, besides the code: one per assembler.
#[derive(Debug, Default)]
pub(crate) struct Emitted {
    /// The trap sites, in the order they were emitted.
    pub(crate) traps: Vec<TrapSite>,
    /// Every (function, callee) pair where a call was expanded in place
    /// (in any attempt), for [`crate::artifact::FuncCode::inlined`].
    pub(crate) expanded: Vec<(FuncId, FuncId)>,
}

/// Room the lowering reuses from function to function (one per
/// assembler): the lists of branch snapshots, so that a branch allocates
/// nothing once the first functions have made a few.
#[derive(Debug, Default)]
pub(crate) struct Room {
    /// Empty lists for [`stack::Snapshot`]'s slots and homes.
    slots: Vec<Vec<bool>>,
    homes: Vec<Vec<Option<Home>>>,
}

/// Emits function `id` of the program at the assembler's current offset,
/// appending its trap sites and expanded calls to `emitted`. Tries without a frame first when the
/// analysis allows, and again with one (or with a frame check, or with
/// every variable in a stable home) when an attempt says it needs it.
/// `facts` and `room` are scratch space, reused from function to function; `debug`
/// gets the function's debug rows, if it records. Returns whether the
/// function has no frame: then `rsp` stays at its return address
/// throughout, and no callee-saved register is touched.
pub(crate) fn function(
    asm: &mut Assembler,
    links: &Links,
    emitted: &mut Emitted,
    debug: &mut Recorder,
    facts: &mut Facts,
    room: &mut Room,
    id: FuncId,
) -> bool {
    let Emitted { traps, expanded } = emitted;
    let func = &links.program.funcs[id];
    let offset = asm.offset();
    facts.refill(func, id, links.program, &links.inline);
    let facts = &*facts;
    let traps_before = traps.len();
    let debug_before = debug.tables_mut().map(|t| (t.lines.len(), t.frames.len()));
    let mut framed = !frame::frameless_fits(func.arity, facts);
    let mut check_frame = false;
    let mut pool_homes = true;
    let mut loop_budget = None;
    let mut no_selects = false;
    loop {
        let frame = Frame::new(func.arity, facts, framed, check_frame, pool_homes);
        let shape = Shape {
            no_selects,
            ..Shape::new(facts, pool_homes, loop_budget)
        };
        let outputs = (&mut *traps, &mut *expanded, &mut *debug);
        // (Lowered and dropped in place: `emit` taking the state by value,
        // or `drop`, copied it.)
        let attempt = {
            let mut lowering =
                FuncLowering::new(asm, links, outputs, &mut *room, id, func, facts, shape, frame);
            lowering.emit(func)
        };
        match attempt {
            // The loop body used fewer registers than the analysis bounded:
            // emit it again with the rest holding stack parameters and
            // constants (once; the body itself is the same code).
            Attempt::Done {
                spare_loop_registers,
            } if spare_loop_registers > 0 && loop_budget.is_none() => {
                loop_budget = Some(spare_loop_registers);
            }
            Attempt::Done { .. } => {
                // Short jumps where they reach; the trap sites move along.
                // (Each list is mostly in code order: mapped by a walk.)
                let moved = asm.relax(offset);
                let mut sites = moved.ascending();
                for site in &mut traps[traps_before..] {
                    // Moved up, so it still fits.
                    site.offset = sites.map(site.offset as usize) as u32;
                }
                if let (Some(tables), Some((lines, frames))) = (debug.tables_mut(), debug_before) {
                    let mut rows = moved.ascending();
                    for row in &mut tables.lines[lines..] {
                        row.offset = rows.map(row.offset);
                    }
                    let mut rows = moved.ascending();
                    for row in &mut tables.frames[frames..] {
                        row.offset = rows.map(row.offset);
                    }
                }
                return !framed;
            }
            // The register bound of the analysis was not enough to do
            // without a frame (it is meant to be conservative): emit the
            // function again with one, where spilling is possible.
            Attempt::OutOfRegisters if !framed => framed = true,
            // Variables in caller-saved registers left too few for the
            // temporaries: emit it again the way that always fits, every
            // variable in a callee-saved register or a slot.
            Attempt::OutOfRegisters => {
                assert!(pool_homes, "register allocation failed with stable homes");
                pool_homes = false;
                loop_budget = None;
            }
            // The frame outgrew what the stack reserve covers: emit the
            // function again checking the limit after allocating it.
            Attempt::FrameTooLarge => check_frame = true,
            Attempt::SelectSpilled => no_selects = true,
        }
        asm.truncate(offset);
        traps.truncate(traps_before);
        if let (Some(tables), Some((lines, frames))) = (debug.tables_mut(), debug_before) {
            tables.lines.truncate(lines);
            tables.frames.truncate(frames);
        }
    }
}

/// How one attempt at emitting a function went.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Attempt {
    /// The function is emitted; its loop body left this many registers it
    /// could have used unused (as many more stack parameters or constants
    /// could live in registers, had they been planned).
    Done { spare_loop_registers: usize },
    /// A frameless attempt ran out of registers.
    OutOfRegisters,
    /// A `cmov` found a value it needed spilled (the register count of
    /// `can_select` was wrong): try again with branches.
    SelectSpilled,
    /// The frame is too large for the stack reserve below the limit.
    FrameTooLarge,
}

/// What the analysis decided about the function, fixed for the whole
/// attempt.
#[derive(Copy, Clone, Debug)]
struct Shape {
    /// The function makes calls (tail or not), so it checks the stack limit
    /// on entry (or at its loop head): every loop and every recursion
    /// passes such a check.
    checks_stack: bool,
    /// The function makes no calls except tail calls: nothing it holds must
    /// survive a call, so its parameters can stay in argument registers.
    only_tail_calls: bool,
    /// The registers some instruction needs in particular (`rax` and `rdx`
    /// for division, `rcx` for variable shifts): nothing that must stay
    /// put lives there.
    fixed: RegSet,
    /// The function calls itself in tail position: its body is a loop whose
    /// head follows a prologue that runs once.
    self_loop: bool,
    /// Variables not live across a call, and values waiting across a
    /// branch in a function without calls, may stay in caller-saved
    /// registers (the first attempt). Without it, every variable of a
    /// framed function lives in a callee-saved register or a slot, which
    /// always leaves the temporaries room.
    pool_homes: bool,
    /// How many registers the loop gives stack parameters and constants,
    /// measured by an earlier attempt; `None`: the analysis's bound decides.
    loop_budget: Option<usize>,
    /// Every `if` branches (an attempt found a `cmov`'s count wrong).
    no_selects: bool,
}

impl Shape {
    fn new(facts: &Facts, pool_homes: bool, loop_budget: Option<usize>) -> Shape {
        Shape {
            checks_stack: facts.non_tail_calls || facts.tail_calls,
            only_tail_calls: !facts.non_tail_calls,
            fixed: facts.fixed_regs,
            self_loop: facts.self_tail_calls,
            pool_homes,
            loop_budget,
            no_selects: false,
        }
    }
}

/// An out-of-line trap stub to emit after the body.
struct Stub {
    label: Label,
    /// The function the trap reports: the one whose source the failing
    /// operation is in (an inlined callee's), or this one for the stack
    /// check.
    func: FuncId,
    kind: TrapKind,
    /// Point `rsp` back at `rbp` first (a failed check after the frame was
    /// allocated below the limit).
    reset_rsp: bool,
    /// The call-frame rule where the stub is jumped to (with debug info).
    rule: debug::Pending,
}

/// The lowering state of one function: the assembler, where it may jump,
/// the frame, the operand stack with its registers, and the trap stubs.
struct FuncLowering<'a> {
    asm: &'a mut Assembler,
    links: &'a Links<'a>,
    func: FuncInfo<'a>,
    shape: Shape,
    frame: Frame,
    values: ValueStack,
    /// Where the parameters live in each state of the function.
    layout: Layout,
    traps: Traps<'a>,
    /// Where calls expanded in place are noted.
    expanded: &'a mut Vec<(FuncId, FuncId)>,
    room: &'a mut Room,
    site: Site,
    retry: RetrySignals,
    /// Line and call-frame rows, when debug info is on.
    debug: debug::FuncDebug<'a>,
    /// The operations of the left spines of the operator chains being
    /// lowered, innermost last, each with whether its span was entered
    /// (see [`FuncLowering::arithmetic_chain`]).
    /// Inline for the short chains of most functions: a heap buffer per
    /// attempt cost more than the chain.
    spine: SmallVec<[(ir::NodeId, bool); 8]>,
    /// The operations whose left operands are being lowered by recursion
    /// (see [`FuncLowering::arithmetic_chain`]).
    nested_operations: u32,
}

/// Where an attempt puts what it emits besides code: trap sites, expanded
/// calls, debug rows.
type Outputs<'a> = (
    &'a mut Vec<TrapSite>,
    &'a mut Vec<(FuncId, FuncId)>,
    &'a mut Recorder,
);

/// What is fixed about the function being lowered.
struct FuncInfo<'a> {
    id: FuncId,
    arity: usize,
    facts: &'a Facts,
}

/// The trap sites of the whole program, and this function's stubs that
/// will add to them once the body is emitted.
struct Traps<'a> {
    sites: &'a mut Vec<TrapSite>,
    stubs: SmallVec<[Stub; 4]>,
}

/// Whose source the visitor is in: the function's own body, or an inlined
/// callee's inside it, and which copy of a loop's body.
struct Site {
    /// Which copy of a loop's body is being lowered, and where its self
    /// tail calls jump.
    looping: loops::Copy,
    /// The first variable number of the body being lowered: 0 for the
    /// function's own, an inlined body's base inside it.
    local_base: usize,
    /// The function whose source is being lowered (an inlined callee's
    /// inside its expansion): division traps name it.
    source_func: FuncId,
    /// This function, then the inlined ones being expanded.
    expanding: SmallVec<[FuncId; 4]>,
}

/// What an attempt learned that makes the driver emit the function again
/// another way.
#[derive(Default)]
struct RetrySignals {
    /// An attempt ran out of registers; it will be emitted again with a
    /// frame, or with stable homes.
    out_of_registers: bool,
    /// While the loop body is lowered: the most registers in use at once.
    loop_peak: Option<usize>,
    /// A select found a value moved between its branches and its `cmov`.
    select_spilled: bool,
}

impl<'a> FuncLowering<'a> {
    // (Always inlined: the state is then built where it lives, not built
    // and copied.)
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn new(
        asm: &'a mut Assembler,
        links: &'a Links<'a>,
        (traps, expanded, debug): Outputs<'a>,
        room: &'a mut Room,
        id: FuncId,
        func: &ir::Func,
        facts: &'a Facts,
        shape: Shape,
        frame: Frame,
    ) -> Self {
        FuncLowering {
            asm,
            links,
            func: FuncInfo {
                id,
                arity: func.arity,
                facts,
            },
            shape,
            frame,
            values: ValueStack::new(facts.locals),
            layout: Layout::default(),
            traps: Traps {
                sites: traps,
                stubs: SmallVec::new(),
            },
            expanded,
            room,
            site: Site {
                looping: loops::Copy::default(),
                local_base: 0,
                source_func: id,
                expanding: smallvec::smallvec![id],
            },
            retry: RetrySignals::default(),
            debug: debug::FuncDebug::new(debug),
            spine: SmallVec::new(),
            nested_operations: 0,
        }
    }

    /// Emits the function: entry check, parameters, body, then the frame
    /// size patched in and the trap stubs. A loop (a function that calls
    /// itself in tail position) runs its prologue once and then a loop
    /// head that only checks the stack limit (see [`loops`]).
    fn emit(&mut self, func: &ir::Func) -> Attempt {
        let mut layout = Layout::default();
        if !self.plan_layout(&mut layout) {
            return Attempt::OutOfRegisters;
        }
        self.frame.reserve_slots(layout.reserved_slots);
        self.layout = layout;
        self.asm.bind(self.links.funcs[self.func.id]);
        self.debug_entry(func.name_span);
        if self.shape.self_loop {
            self.emit_loop(func.root());
        } else {
            // Every recursion and every loop passes a function entry that
            // makes a call: checking there stops both at the limit (and on
            // an interrupt). A function without calls cannot recurse and
            // finishes.
            if self.shape.checks_stack {
                self.stack_check(false);
            }
            self.place_params();
            self.tail_expr(func.root());
        }
        if !self.patch_frame_size() {
            return Attempt::FrameTooLarge;
        }
        self.emit_stubs();
        self.debug.flush(self.frame.allocated_bytes());
        if self.retry.select_spilled {
            Attempt::SelectSpilled
        } else if self.retry.out_of_registers {
            Attempt::OutOfRegisters
        } else {
            Attempt::Done {
                spare_loop_registers: self.spare_loop_registers(),
            }
        }
    }

    /// Binds each trap stub after the body: a `call` to the trap exit,
    /// whose return address is the trap site's key.
    fn emit_stubs(&mut self) {
        for stub in std::mem::take(&mut self.traps.stubs) {
            self.asm.bind(stub.label);
            self.cfi(|_| stub.rule);
            if stub.reset_rsp {
                self.asm.mov_rr(Reg::Rsp, Reg::Rbp);
            }
            self.asm.call(self.links.trap_exit);
            let site = TrapSite::new(self.asm.offset(), stub.func, stub.kind);
            self.traps.sites.push(site);
        }
    }

    /// A new out-of-line trap stub for `kind`; returns its label.
    fn stub(&mut self, kind: TrapKind, reset_rsp: bool) -> Label {
        let label = self.asm.new_label();
        let func = match kind {
            TrapKind::DivisionByZero { .. } => self.site.source_func,
            TrapKind::StackOverflow => self.func.id,
            TrapKind::UndefinedFunction { .. } => unreachable!("not a stub's trap"),
        };
        self.traps.stubs.push(Stub {
            label,
            func,
            kind,
            reset_rsp,
            rule: self.debug.current,
        });
        label
    }

    /// Gives every parameter its entry home ([`Layout::entry`]): moves
    /// the ones in `rcx`/`rdx` out of the way of fixed instructions, and
    /// sets the frame up right away if one of them needs a stable home.
    fn place_params(&mut self) {
        for param in 0..self.func.arity {
            let home = self.layout.entry[param];
            if let Some(&reg) = ARG_REGS.get(param) {
                if home != Home::Reg(reg) {
                    self.store(home, Src::Reg(reg));
                }
                if let Home::Reg(to) = home {
                    self.values.used.insert(to);
                }
            }
            self.values.homes[param] = Some(home);
        }
        if self.layout.frame_on_entry {
            self.ensure_frame();
        }
    }

    /// Whether a call of `func` (in tail position or not) is expanded
    /// here: it is inlined, and not one of the functions being expanded
    /// (nor this one).
    fn expands(&self, func: FuncId, tail: bool) -> bool {
        !self.site.expanding.contains(&func) && self.links.inline.inlines(func, tail)
    }

    /// Whether variable `local` needs a home that survives calls: it is
    /// live across one (or, with [`Shape::pool_homes`] off, any variable of
    /// a framed function, and any parameter of one that calls).
    fn wants_stable_home(&self, local: LocalId) -> bool {
        if !self.frame.allowed() {
            // No frame, no calls: nothing disturbs a register.
            return false;
        }
        if self.shape.pool_homes {
            return self.func.facts.across_call[local];
        }
        local >= self.func.arity || !self.shape.only_tail_calls
    }

    // ---- the visitor -------------------------------------------------------

    /// Evaluates `expr` in tail position: returns its value or jumps to the
    /// callee (to the loop head, for a call of this function itself).
    #[inline(always)]
    fn tail_expr(&mut self, expr: ir::Expr<'_>) {
        if self.debug.on {
            self.tail_expr_spanned(expr);
        } else {
            self.tail_expr_kind(expr);
        }
    }

    /// [`Self::tail_expr`] with line rows (debug info on).
    #[inline(never)]
    fn tail_expr_spanned(&mut self, expr: ir::Expr<'_>) {
        let spanned = self.enter_span(expr);
        self.tail_expr_kind(expr);
        self.leave_span(spanned);
    }

    fn tail_expr_kind(&mut self, expr: ir::Expr<'_>) {
        match expr.kind() {
            ir::Kind::If {
                cond,
                then_branch,
                else_branch,
                ..
            } if !self.can_select(cond, then_branch, else_branch) => {
                let else_label = self.asm.new_label();
                self.prepare_branch_frame(cond);
                self.branch(cond, false, else_label);
                let snapshot = self.snapshot();
                self.tail_expr(then_branch);
                self.asm.bind(else_label);
                self.restore(snapshot);
                self.tail_expr(else_branch);
            }
            ir::Kind::Let { local, value, body } => {
                let local = self.site.local_base + local;
                self.bind_local(local, value);
                self.tail_expr(body);
                self.unbind(local);
            }
            // (Also from inlined code in tail position: its tail calls are
            // this function's.)
            ir::Kind::Call { func, args, .. } if func == self.func.id => self.self_tail_call(args),
            ir::Kind::Binary { .. }
                if self.func.facts.accumulates && additive_self_call(expr, self.func.id).is_some() =>
            {
                let (e, call) = additive_self_call(expr, self.func.id).expect("matched");
                self.accumulate(e, call);
            }
            ir::Kind::Call { func, args, .. } if self.expands(func, true) => {
                self.inline_call(expr, func, args, true)
            }
            ir::Kind::Call { func, args, span } => self.tail_call(func, args, span),
            _ => {
                self.expr(expr);
                let val = self.values.pop();
                let src = self.src(val);
                self.load(Reg::Rax, src);
                self.free(val);
                self.add_accumulator(Reg::Rax);
                self.emit_return();
            }
        }
    }

    /// Evaluates `expr` onto the operand stack.
    #[inline(always)]
    fn expr(&mut self, expr: ir::Expr<'_>) {
        if self.debug.on {
            self.expr_spanned(expr);
            return;
        }
        // A literal or a variable read (most operands are one) is lowered
        // here, without the call: as `expr_kind` does.
        match *expr.node() {
            ir::Node::Int(value) => self.values.push(Val::Const(value)),
            ir::Node::Local(local) => {
                let val = self.read_local(self.site.local_base + local as LocalId);
                self.values.push(val);
            }
            _ => self.expr_kind(expr),
        }
    }

    /// [`Self::expr`] with line rows (debug info on).
    #[inline(never)]
    fn expr_spanned(&mut self, expr: ir::Expr<'_>) {
        let spanned = self.enter_span(expr);
        self.expr_kind(expr);
        self.leave_span(spanned);
    }

    fn expr_kind(&mut self, expr: ir::Expr<'_>) {
        match expr.kind() {
            ir::Kind::Int(value) => self.values.push(Val::Const(value)),
            ir::Kind::Local(local) => {
                let val = self.read_local(self.site.local_base + local);
                self.values.push(val);
            }
            ir::Kind::Unary {
                op: op @ (UnOp::Neg | UnOp::BitNot),
                operand,
            } => {
                self.expr(operand);
                self.unary(op);
            }
            ir::Kind::Unary { op: UnOp::Not, .. } => self.bool_value(expr),
            ir::Kind::Binary { op, .. } if cond::is_boolean(op) => self.bool_value(expr),
            ir::Kind::Binary {
                op,
                op_span,
                lhs,
                rhs,
            } => {
                if self.masked_shift(op, lhs, rhs) {
                    return;
                }
                self.arithmetic_chain(expr, (op, op_span, lhs, rhs));
            }
            ir::Kind::If {
                cond,
                then_branch,
                else_branch,
                ..
            } if self.can_select(cond, then_branch, else_branch) => {
                self.select(cond, then_branch, else_branch);
            }
            ir::Kind::If {
                cond,
                then_branch,
                else_branch,
                ..
            } => self.if_value(cond, then_branch, else_branch),
            ir::Kind::Let { local, value, body } => {
                let local = self.site.local_base + local;
                self.bind_local(local, value);
                self.expr(body);
                self.unbind_under_value(local);
            }
            ir::Kind::Call { func, args, .. } if self.expands(func, false) => {
                self.inline_call(expr, func, args, false)
            }
            ir::Kind::Call { func, args, span } => self.call(func, args, span),
        }
    }

    /// `if` as a value, with a branch: both sides leave their value in the
    /// same register.
    // Out of line: inlined, its state (branch snapshots, argument
    // lists) would sit in the frame of every level of the visitor's
    // recursion (`expr_kind`: 312 bytes with it, 152 without).
    #[inline(never)]
    fn if_value(&mut self, cond: ir::Expr<'_>, then_branch: ir::Expr<'_>, else_branch: ir::Expr<'_>) {
        let join = self.before_join();
        let else_label = self.asm.new_label();
        let end = self.asm.new_label();
        self.branch(cond, false, else_label);
        let snapshot = self.snapshot();
        self.expr(then_branch);
        let val = self.values.pop();
        let result = self.owned(val, RegSet::EMPTY);
        self.asm.jmp(end);
        self.asm.bind(else_label);
        self.restore(snapshot);
        self.expr(else_branch);
        let val = self.values.pop();
        let src = self.src(val);
        self.load(result, src);
        self.free(val);
        self.values.used.insert(result);
        self.asm.bind(end);
        self.after_join(join);
        self.values.push(Val::Reg(result));
    }

    /// The registers an allocation can take without spilling.
    fn free_pool_registers(&self) -> usize {
        let free = POOL.iter().filter(|&&r| !self.values.used.has(r)).count();
        // With the frame set up, free callee-saved registers are taken
        // without spilling too.
        let saved = if self.frame.ready {
            self.frame
                .saved
                .iter()
                .filter(|&&r| !self.values.used.has(r))
                .count()
        } else {
            0
        };
        free + saved
    }
}
