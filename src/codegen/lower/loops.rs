//! Loops: a function that calls itself in tail position. The self tail
//! call moves the new argument values into the homes the loop head expects
//! ([`super::layout::Layout::looping`]) with one parallel move and jumps
//! there; the frame, the saved registers and the hoisted constants stay in
//! place, and the head runs only the stack check (which also stops a loop
//! on an interrupt).
//!
//! A loop that needs a frame is emitted twice. The entry copy is the body
//! as any function's, shrink-wrapped: a call that ends at once (a base
//! case, which in a recursion like `tak` or `ack` is most calls) returns
//! without ever setting the frame up. Its self tail calls on paths that set
//! the frame up enter the loop copy, which starts with the frame set up,
//! the stack parameters in registers and the constants materialised; the
//! loop copy's own self tail calls jump to its own head. (When the entry
//! sets the frame up at once, the loop copy is all there is.)

use super::FuncLowering;
use crate::abi::Reg;
use crate::abi::{REGISTER_ARGS, stack_arg_count};
use crate::codegen::regs::{Home, Loc, Moves, POOL};
use crate::codegen::regs::{SCRATCH, Src};
use crate::codegen::x64::{Label, Mem};
use crate::ir;

/// The stack an accumulating loop step takes (untouched, like the frame of
/// the recursion it replaces, so that deep recursion still overflows).
const VIRTUAL_FRAME: i32 = 16;

/// Which copy of a loop's body is being lowered.
#[derive(Copy, Clone, Debug, Default)]
pub(super) enum Copy {
    /// Not a loop.
    #[default]
    None,
    /// The shrink-wrapped entry copy of a loop with a frame: frameless
    /// self tail calls jump to `head`, framed ones enter the loop copy at
    /// `loop_head`.
    Entry {
        head: Label,
        loop_head: Label,
        entered: bool,
    },
    /// The loop copy (or the only copy of a frameless loop, or of one that
    /// sets its frame up on entry): self tail calls jump to `head`.
    Loop { head: Label },
}

impl FuncLowering<'_> {
    /// Emits a loop's body (see the module docs), after the entry label.
    pub(super) fn emit_loop(&mut self, body: ir::Expr<'_>) {
        self.place_params();
        // The accumulator's register holds nothing else anywhere: the
        // entry copy sets it on its way into the loop copy.
        if let Some(Home::Reg(reg)) = self.layout.accumulator {
            self.values.used.insert(reg);
        }
        if !self.frame.allowed() || self.frame.ready {
            self.enter_loop_homes();
            self.loop_body(body);
            return;
        }
        let head = self.asm.new_label();
        let loop_head = self.asm.new_label();
        self.asm.bind(head);
        if self.shape.checks_stack {
            self.stack_check(false);
        }
        self.site.looping = Copy::Entry {
            head,
            loop_head,
            entered: false,
        };
        self.tail_expr(body);
        let Copy::Entry { entered: true, .. } = self.site.looping else {
            return;
        };
        // The loop copy starts from nothing but the parameters, in their
        // loop homes, with the frame set up and the constants in place.
        self.values.reset();
        for (param, &home) in self.layout.looping.iter().enumerate() {
            self.values.homes[param] = Some(home);
            if let Home::Reg(reg) = home {
                self.values.used.insert(reg);
            }
        }
        for &(_, reg) in &self.layout.hoisted {
            self.values.used.insert(reg);
        }
        if let Some(Home::Reg(reg)) = self.layout.accumulator {
            self.values.used.insert(reg);
        }
        self.values.hoisted = self.layout.hoisted.clone();
        self.frame.release_slots(self.layout.reserved_slots);
        self.frame.ready = true;
        self.asm.bind(loop_head);
        self.cfi_settled();
        self.site.looping = Copy::Loop { head: loop_head };
        self.loop_check();
        self.measured_loop_body(body);
    }

    /// Lowers the body of the loop copy, measuring its register use.
    fn measured_loop_body(&mut self, body: ir::Expr<'_>) {
        self.retry.loop_peak = Some(self.values.used.len());
        self.tail_expr(body);
    }

    /// How many stack parameters and constants the loop copy could have
    /// held in registers: those it did, plus the registers it never used
    /// (exact, for the same body: reading a constant from a register takes
    /// no other), if some stack parameter or constant went without; 0 if
    /// nothing was measured or nothing is to gain.
    pub(super) fn spare_loop_registers(&self) -> usize {
        let Some(peak) = self.retry.loop_peak else {
            return 0;
        };
        if !self.shape.pool_homes {
            return 0;
        }
        let planned = self.layout.hoisted.len()
            + (REGISTER_ARGS..self.func.arity)
                .filter(|&p| matches!(self.layout.looping[p], Home::Reg(_)))
                .count();
        let wanted = self.func.facts.constants.len() + stack_arg_count(self.func.arity);
        if planned >= wanted {
            return 0;
        }
        let saved = if self.frame.allowed() {
            self.frame.saved.len()
        } else {
            0
        };
        let unused = (POOL.len() + saved).saturating_sub(peak);
        if unused == 0 { 0 } else { planned + unused }
    }

    /// The only copy of a loop: its head, check and body.
    fn loop_body(&mut self, body: ir::Expr<'_>) {
        let head = self.asm.new_label();
        self.asm.bind(head);
        self.site.looping = Copy::Loop { head };
        self.loop_check();
        self.measured_loop_body(body);
    }

    /// The stack check at a loop head. The frame may be allocated already:
    /// it is small enough for the reserve below the limit, or else the
    /// stub resets `rsp` first.
    fn loop_check(&mut self) {
        if self.shape.checks_stack {
            self.stack_check(self.frame.ready && self.frame.checks_after_alloc());
        }
    }

    /// Moves the parameters from their current homes to their loop homes
    /// (stack parameters into registers) and materialises the hoisted
    /// constants: the code before the head of a loop's only copy.
    fn enter_loop_homes(&mut self) {
        for param in 0..self.func.arity {
            let to = self.layout.looping[param];
            let from = self.values.homes[param].expect("parameters are placed");
            if from != to {
                let src = self.home_src(from);
                self.store(to, src);
                if let Home::Reg(reg) = to {
                    self.values.used.insert(reg);
                }
                self.values.homes[param] = Some(to);
            }
        }
        self.materialize_hoisted();
        for &(_, reg) in &self.layout.hoisted {
            self.values.used.insert(reg);
        }
        self.values.hoisted = self.layout.hoisted.clone();
        if let Some(accumulator) = self.layout.accumulator {
            self.store(accumulator, Src::Imm(0));
            if let Home::Reg(reg) = accumulator {
                self.values.used.insert(reg);
            }
        }
    }

    /// Loads the constants the loop keeps in registers. (Only the code
    /// after the loop head reads them there: the entry copy, which jumps
    /// to it from here, goes on materialising its own.)
    fn materialize_hoisted(&mut self) {
        for &(value, reg) in &self.layout.hoisted {
            self.asm.mov_ri(reg, value);
        }
    }

    /// A call of this function in tail position: the arguments are
    /// computed, then moved at once into the homes the target head expects,
    /// which is then jumped to. The frame stays as it is.
    pub(super) fn self_tail_call(&mut self, args: ir::Args<'_>) {
        self.loop_step(args, false);
    }

    /// `e + f(args)` returned by `f` itself (see
    /// [`crate::codegen::analysis::additive_self_call`]): `e` is added to
    /// the accumulator (which the entry copy knows to be zero, so there it
    /// is set), and the call is a loop step that keeps a virtual frame:
    /// `rsp` moves down 16 bytes, untouched, as far as the recursion would
    /// have gone, so that deep recursion still ends in a stack overflow at
    /// the loop head's check. Returns add the accumulator; the epilogue
    /// restores `rsp` from `rbp`.
    pub(super) fn accumulate(&mut self, e: ir::Expr<'_>, call: ir::Expr<'_>) {
        let ir::Kind::Call { args, .. } = call.kind() else {
            unreachable!("an additive self call")
        };
        self.expr(e);
        let val = self.values.pop();
        // The loop copy runs with the frame set up.
        self.ensure_frame();
        let accumulator = self
            .layout
            .accumulator
            .expect("an accumulating loop has one");
        let src = self.src(val);
        if matches!(self.site.looping, Copy::Entry { .. }) {
            self.store(accumulator, src);
            self.free(val);
        } else {
            self.add_into(accumulator, src);
            self.free(val);
        }
        self.loop_step(args, true);
    }

    /// Adds the accumulator to `reg` (a value being returned) in the loop
    /// copy of an accumulating loop; the entry copy's is zero.
    pub(super) fn add_accumulator(&mut self, reg: Reg) {
        if let (Some(accumulator), Copy::Loop { .. }) = (self.layout.accumulator, self.site.looping) {
            match self.home_src(accumulator) {
                Src::Reg(from) => self.asm.add_rr(reg, from),
                Src::Mem(mem) => self.asm.add_rm(reg, mem),
                Src::Imm(_) => unreachable!("the accumulator is a register or a slot"),
            }
        }
    }

    /// `home += src` (a register or a slot).
    fn add_into(&mut self, home: Home, src: Src) {
        if let Home::Reg(reg) = home {
            match src {
                Src::Reg(from) => self.asm.add_rr(reg, from),
                Src::Mem(mem) => self.asm.add_rm(reg, mem),
                Src::Imm(value) if i32::try_from(value).is_ok() => {
                    self.asm.add_ri(reg, value as i32)
                }
                Src::Imm(value) => {
                    self.asm.mov_ri(SCRATCH, value);
                    self.asm.add_rr(reg, SCRATCH);
                }
            }
            return;
        }
        // A slot: its sum computed in the scratch register.
        let mem = self.home_mem(home).expect("a slot");
        self.load(SCRATCH, src);
        self.asm.add_rm(SCRATCH, mem);
        self.asm.mov_mr(mem, SCRATCH);
    }

    /// A self tail call's common part: arguments, the parallel move into
    /// the target head's homes, and the jump; `accumulating`: the step of
    /// an accumulating loop, which also takes a virtual frame.
    fn loop_step(&mut self, args: ir::Args<'_>, accumulating: bool) {
        let base = self.values.len();
        for arg in args {
            self.expr(arg);
        }
        let (homes, target, enters_loop) = match self.site.looping {
            // A path without a frame goes round the entry copy again, the
            // parameters where they arrived.
            Copy::Entry { head, .. } if !self.frame.ready => {
                debug_assert!(!accumulating, "an accumulation sets the frame up");
                (self.layout.entry.clone(), head, false)
            }
            Copy::Entry {
                head, loop_head, ..
            } => {
                self.site.looping = Copy::Entry {
                    head,
                    loop_head,
                    entered: true,
                };
                (self.layout.looping.clone(), loop_head, true)
            }
            Copy::Loop { head } => (self.layout.looping.clone(), head, false),
            Copy::None => unreachable!("a function with a self tail call is a loop"),
        };
        self.move_into_homes(base, &homes);
        if enters_loop {
            self.materialize_hoisted();
            // A plain step into the loop copy starts the sum at zero (an
            // accumulating one set it above).
            if let (Some(accumulator), false) = (self.layout.accumulator, accumulating) {
                self.store(accumulator, Src::Imm(0));
            }
        }
        if accumulating {
            self.asm.sub_ri(Reg::Rsp, VIRTUAL_FRAME);
        }
        for val in self.values.drain_from(base) {
            self.free(val);
        }
        self.asm.jmp(target);
    }

    /// The parallel move of the values from `base` up on the operand stack
    /// into `homes`, one per parameter. It needs no register (see
    /// [`crate::codegen::regs::sequence_moves`]), so nothing spills and the
    /// frame stays as the target head expects it.
    fn move_into_homes(&mut self, base: usize, homes: &[Home]) {
        let mut moves = Moves::new();
        for (param, &home) in homes.iter().enumerate() {
            let dst = match home {
                Home::Reg(reg) => Loc::Reg(reg),
                home => Loc::Mem(self.home_mem(home).expect("a parameter's home is a place")),
            };
            moves.push((dst, self.src(self.values.at(base + param))));
        }
        self.emit_moves(&mut moves);
    }

    /// The memory a home is, if it is memory.
    fn home_mem(&self, home: Home) -> Option<Mem> {
        match home {
            Home::Slot(slot) => Some(self.frame.slot_mem(slot)),
            Home::Mem(mem) => Some(mem),
            Home::Reg(_) | Home::Alias(_) | Home::Const(_) => None,
        }
    }
}
