//! The frame of the function being lowered: whether it may have one, where
//! on the current path it is set up (shrink-wrapping), the callee-saved
//! registers it saves, its spill slots and outgoing-argument area, and the
//! prologue, epilogue and stack checks that go with it.

use smallvec::SmallVec;

use super::debug::Pending;
use super::{FuncLowering, Slots};
use crate::abi::{
    ARG_REGS, CALLEE_SAVED, CONTEXT, CTX_LIMIT, FRAME_OVERHEAD, MAX_UNCHECKED_FRAME, Reg,
    stack_arg_count,
};
use crate::artifact::{Cfa, FrameRule, Saved, TrapKind};
use crate::codegen::analysis::Facts;
use crate::codegen::regs::{Home, POOL, RegSet, SCRATCH, Src};
use crate::codegen::x64::{Cond, ImmSlot, Mem};

/// With stable homes for everything (the fallback attempt, see
/// `Shape::pool_homes`), a function that makes only tail calls keeps its
/// stable values (`let`s, values waiting across a branch) in callee-saved
/// registers when it has a frame: one per `let`, this many for values
/// waiting across branches, and one per argument register that
/// fixed-register instructions take (its parameter moves out). Anything
/// beyond goes to a slot.
const SAVED_FOR_WAITING_VALUES: usize = 2;

/// The frame of the function being lowered.
pub(super) struct Frame {
    /// The function may set up a frame (`rbp`, callee-saved registers,
    /// slots); it does so only on the paths that need one
    /// ([`FuncLowering::ensure_frame`]), so a base case can return without.
    allowed: bool,
    /// The frame is set up at the current point of the code.
    pub(super) ready: bool,
    /// The frame is based on `rbp` (needed to address stack arguments while
    /// the frame's size is unknown, and by the checks of large frames);
    /// otherwise slots are addressed from `rsp` and `rbp` is left alone.
    use_rbp: bool,
    /// Check the stack limit again after allocating the frame (frames
    /// larger than [`MAX_UNCHECKED_FRAME`]).
    check_after_alloc: bool,
    /// Callee-saved registers pushed in the prologue, in push order.
    pub(super) saved: SmallVec<[Reg; 8]>,
    /// Spill slots in use, by number.
    pub(super) slots: Slots,
    /// No slot below this number is free (so that allocating is not a scan
    /// from 0 each time: a thousand nested `let`s would be quadratic).
    pub(super) slot_hint: usize,
    /// Stack-argument area at the bottom of the frame, in 8-byte words.
    outgoing: usize,
    /// How many of this function's own parameters came on the stack.
    pub(super) stack_params: usize,
    /// The `sub rsp, imm32` (and `add rsp, imm32`) of each frame set-up and
    /// tear-down, patched with the frame size once it is known.
    size_patches: SmallVec<[ImmSlot; 4]>,
}

impl Frame {
    /// The frame of a function of `arity` parameters; `allowed` says whether
    /// it may have one at all, `check_after_alloc` whether the frame is too
    /// large for the entry check alone.
    pub(super) fn new(
        arity: usize,
        facts: &Facts,
        allowed: bool,
        check_after_alloc: bool,
        pool_homes: bool,
    ) -> Frame {
        let relocated_params = ARG_REGS
            .iter()
            .filter(|&&reg| facts.fixed_regs.has(reg))
            .count();
        // A loop holds its stack parameters and large constants in
        // registers when it can (`Layout::looping`).
        let loop_registers = if facts.self_tail_calls {
            stack_arg_count(arity) + facts.constants.len()
        } else {
            0
        };
        let accumulator = usize::from(facts.accumulates);
        let saved_wanted = accumulator
            + match (pool_homes, facts.non_tail_calls) {
                // What must survive a call: the variables live across one and
                // the values waiting at one.
                (true, true) => facts.homes_across_calls() + facts.pending_at_call + loop_registers,
                // Nothing survives a call: callee-saved registers only add room
                // when the caller-saved ones run short.
                (true, false) => (facts.registers + arity.min(ARG_REGS.len()) + loop_registers)
                    .saturating_sub(POOL.len()),
                // Everything live across a call: the parameters in registers,
                // the `let`s and the values waiting at a call.
                (false, true) => arity.min(ARG_REGS.len()) + facts.lets + facts.pending_at_call,
                (false, false) => facts.lets + SAVED_FOR_WAITING_VALUES + relocated_params,
            };
        let outgoing = facts.call_stack_args.max(facts.tail_stack_args);
        // An accumulating loop moves `rsp` down by a virtual frame per
        // step, so its frame is addressed from `rbp`.
        let use_rbp =
            check_after_alloc || arity > ARG_REGS.len() || outgoing > 0 || facts.accumulates;
        Frame {
            allowed,
            ready: false,
            use_rbp,
            check_after_alloc,
            saved: if allowed {
                // `rbp` is one more callee-saved register in a frame that
                // does not use it as its base.
                let mut candidates: SmallVec<[Reg; 8]> = CALLEE_SAVED.iter().copied().collect();
                if !use_rbp {
                    candidates.push(Reg::Rbp);
                }
                candidates.truncate(saved_wanted);
                candidates
            } else {
                SmallVec::new()
            },
            slots: SmallVec::new(),
            slot_hint: 0,
            outgoing,
            stack_params: stack_arg_count(arity),
            size_patches: SmallVec::new(),
        }
    }

    /// The frame may be set up on some path.
    pub(super) fn allowed(&self) -> bool {
        self.allowed
    }

    /// Marks slots `0..count` used for the whole function (parameters'
    /// homes).
    pub(super) fn reserve_slots(&mut self, count: usize) {
        self.slots = smallvec::smallvec![true; count];
        self.slot_hint = count;
    }

    /// Frees every slot but the reserved ones (a new copy of a loop's
    /// body starts with nothing but parameters).
    pub(super) fn release_slots(&mut self, reserved: usize) {
        for slot in &mut self.slots[reserved..] {
            *slot = false;
        }
        self.slot_hint = reserved;
    }

    /// The limit is checked again right after the frame is allocated.
    pub(super) fn checks_after_alloc(&self) -> bool {
        self.check_after_alloc
    }

    /// Where spill slot `slot` lives.
    pub(super) fn slot_mem(&self, slot: u32) -> Mem {
        if self.use_rbp {
            Mem::new(Reg::Rbp, -8 * (self.saved.len() as i32 + 1 + slot as i32))
        } else {
            // Above the outgoing-argument area at the bottom of the frame.
            Mem::new(Reg::Rsp, 8 * (self.outgoing as i32 + slot as i32))
        }
    }

    /// The bytes the prologue allocates with `sub rsp`: slots and outgoing
    /// arguments, padded so that `rsp` is 16-byte aligned at calls (the
    /// return address, `rbp` if pushed, the saved registers and the frame
    /// add up to a multiple of 16).
    pub(super) fn allocated_bytes(&self) -> usize {
        let words =
            1 + usize::from(self.use_rbp) + self.saved.len() + self.slots.len() + self.outgoing;
        8 * (self.slots.len() + self.outgoing + words % 2)
    }
}

/// How far the prologue has got (or, read backwards, the epilogue): what
/// the call-frame rule of each point of it depends on.
#[derive(Copy, Clone, Debug, Default)]
pub(super) struct Stage {
    rbp_pushed: bool,
    rbp_based: bool,
    /// How many of [`Frame::saved`] are pushed.
    saved: usize,
    allocated: bool,
}

impl Frame {
    /// The stage of the frame fully set up.
    pub(super) fn set_up(&self) -> Stage {
        Stage {
            rbp_pushed: self.use_rbp,
            rbp_based: self.use_rbp,
            saved: self.saved.len(),
            allocated: true,
        }
    }

    /// The call-frame rule at `stage`: the CFA `rbp`-based once `rbp` is
    /// set, else above everything pushed (and allocated) below the return
    /// address; `rbp` and the saved registers where they were pushed.
    pub(super) fn rule(&self, stage: Stage) -> Pending {
        let pushed = usize::from(stage.rbp_pushed) + stage.saved;
        let cfa = if stage.rbp_based {
            Cfa::Rbp(16)
        } else {
            Cfa::Rsp(8 * (1 + pushed as i32))
        };
        let mut rule = FrameRule::ENTRY.with_cfa(cfa);
        if stage.rbp_pushed {
            rule = rule.with_saved(Reg::Rbp, Saved::AtCfa(-16));
        }
        let first = -8 * (2 + i32::from(stage.rbp_pushed));
        for (index, &reg) in self.saved[..stage.saved].iter().enumerate() {
            rule = rule.with_saved(reg, Saved::AtCfa(first - 8 * index as i32));
        }
        Pending {
            rule,
            plus_frame: stage.allocated && !stage.rbp_based,
        }
    }
}

/// Whether a function can do without a frame: it makes no calls except
/// tail calls without stack arguments, and its parameters plus the bound on
/// its temporaries fit the caller-saved registers.
pub(super) fn frameless_fits(arity: usize, facts: &Facts) -> bool {
    if facts.non_tail_calls || facts.tail_stack_args > 0 || facts.accumulates {
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
        let fixed = facts.fixed_regs.has(reg);
        if fixed && param_regs.has(reg) {
            relocated += 1;
        }
        if !fixed && !param_regs.has(reg) {
            stable += 1;
        }
    }
    facts.stable + relocated <= stable
}

impl FuncLowering<'_> {
    /// Patches the frame size into every `sub rsp`/`add rsp`; false if the
    /// frame is too large to go without a check after allocation and the
    /// function does not make one.
    pub(super) fn patch_frame_size(&mut self) -> bool {
        let frame = self.frame.allocated_bytes();
        if !self.frame.check_after_alloc
            && 8 * self.frame.saved.len() + frame + FRAME_OVERHEAD >= MAX_UNCHECKED_FRAME
        {
            return false;
        }
        let frame = i32::try_from(frame).expect("frame larger than 2 GiB");
        for slot in std::mem::take(&mut self.frame.size_patches) {
            self.asm.patch_i32(slot, frame);
            if frame == 0 {
                // `sub rsp, 0` and `add rsp, 0` go when the code is relaxed.
                self.asm.drop_instruction(slot);
            }
        }
        true
    }

    /// Traps unless `rsp` is at or above the limit; `reset_rsp` makes the
    /// stub first point `rsp` back at the saved `rbp` (after a frame was
    /// allocated below the limit).
    pub(super) fn stack_check(&mut self, reset_rsp: bool) {
        let overflow = self.stub(TrapKind::StackOverflow, reset_rsp);
        self.asm.cmp_rm(Reg::Rsp, Mem::new(CONTEXT, CTX_LIMIT));
        self.asm.jcc(Cond::B, overflow);
    }

    /// Sets up the frame if the current path has none yet: saves `rbp` and
    /// the callee-saved registers, allocates the slots, and moves the
    /// parameters live across a call to callee-saved registers. Emits no
    /// flag-reading code, but clobbers the flags (`sub rsp`).
    pub(super) fn ensure_frame(&mut self) {
        if !self.frame.allowed || self.frame.ready {
            return;
        }
        self.frame.ready = true;
        let mut stage = Stage::default();
        if self.frame.use_rbp {
            self.asm.push_r(Reg::Rbp);
            stage.rbp_pushed = true;
            self.cfi(|this| this.frame.rule(stage));
            self.asm.mov_rr(Reg::Rbp, Reg::Rsp);
            stage.rbp_based = true;
            self.cfi(|this| this.frame.rule(stage));
        }
        // (By index: the list is the frame's, which `cfi` reads.)
        for index in 0..self.frame.saved.len() {
            let reg = self.frame.saved[index];
            self.asm.push_r(reg);
            stage.saved += 1;
            self.cfi(|this| this.frame.rule(stage));
        }
        let slot = self.asm.sub_ri32(Reg::Rsp, 0);
        self.frame.size_patches.push(slot);
        stage.allocated = true;
        self.cfi(|this| this.frame.rule(stage));
        if self.frame.check_after_alloc {
            self.stack_check(true);
        }
        // The parameters move to their framed homes (the same on every
        // path, see `Layout`); incoming stack arguments are now addressed
        // from `rbp`.
        for param in 0..self.func.arity {
            let (Some(from), to) = (self.values.homes[param], self.layout.framed[param]) else {
                continue;
            };
            if from == to {
                continue;
            }
            if let Home::Reg(reg) = from {
                self.store(to, Src::Reg(reg));
                self.values.used.remove(reg);
            }
            if let Home::Reg(reg) = to {
                self.values.used.insert(reg);
            }
            self.values.homes[param] = Some(to);
        }
    }

    /// Tears the frame down if the current path has one: `rsp` back to the
    /// saved registers, which are popped, then `rbp`.
    pub(super) fn emit_epilogue(&mut self) {
        if !self.frame.ready {
            return;
        }
        let mut stage = self.frame.set_up();
        if self.frame.use_rbp {
            let saved = 8 * self.frame.saved.len() as i32;
            self.asm.lea(Reg::Rsp, Mem::new(Reg::Rbp, -saved));
        } else {
            let slot = self.asm.add_ri32(Reg::Rsp, 0);
            self.frame.size_patches.push(slot);
            stage.allocated = false;
            self.cfi(|this| this.frame.rule(stage));
        }
        for index in (0..self.frame.saved.len()).rev() {
            let reg = self.frame.saved[index];
            self.asm.pop_r(reg);
            stage.saved -= 1;
            self.cfi(|this| this.frame.rule(stage));
        }
        if self.frame.use_rbp {
            self.asm.pop_r(Reg::Rbp);
            self.cfi(|_| Pending::ENTRY);
        }
    }

    /// Returns `rax`, popping this function's stack arguments.
    pub(super) fn emit_return(&mut self) {
        self.emit_epilogue();
        let bytes = 8 * self.frame.stack_params;
        match u16::try_from(bytes) {
            Ok(bytes) => self.asm.ret_pop(bytes),
            Err(_) => {
                // `ret imm16` cannot pop this much: pop the return address,
                // drop the arguments, jump back.
                self.asm.pop_r(SCRATCH);
                let in_scratch = FrameRule {
                    return_address: Saved::InReg(SCRATCH),
                    ..FrameRule::ENTRY.with_cfa(Cfa::Rsp(0))
                };
                self.cfi(|_| Pending {
                    rule: in_scratch,
                    plus_frame: false,
                });
                let bytes = i32::try_from(bytes).expect("stack arguments beyond 2 GiB");
                self.asm.lea(Reg::Rsp, Mem::new(Reg::Rsp, bytes));
                self.cfi(|_| Pending {
                    rule: in_scratch.with_cfa(Cfa::Rsp(-bytes)),
                    plus_frame: false,
                });
                self.asm.jmp_r(SCRATCH);
            }
        }
    }
}
