//! The virtual operand stack and register allocation, as one piece: every
//! intermediate value is a [`Val`] on the stack (a constant, an owned
//! register or slot, a deferred read of a variable); registers are taken
//! from [`POOL`] as values need them, and when there are none a waiting
//! value is spilled to a frame slot. Variables live in [`Home`]s.
//!
//! [`ValueStack`] is the state; the `impl FuncLowering` below holds the
//! operations that also emit code (loads, stores, spills), because those
//! need the assembler and the frame.

use smallvec::{SmallVec, smallvec};

use super::{FuncLowering, Homes};
use crate::abi::Reg;
use crate::codegen::regs::{
    Home, Moves, POOL, POOL_FIXED_LAST, RegSet, SCRATCH, Src, Step, Val, sequence_moves, Loc,
};
use crate::codegen::x64::Mem;
use crate::ir::LocalId;

/// The operand stack, which registers are in use, and where each variable
/// lives.
pub(super) struct ValueStack {
    vals: SmallVec<[Val; 16]>,
    /// Registers owned by a value or holding a variable.
    pub(super) used: RegSet,
    /// Where each variable lives while it is in scope.
    pub(super) homes: Homes,
    /// The register the next allocation should take if it is free: the
    /// argument register of the call argument being evaluated, so that its
    /// value is computed in place.
    pub(super) hint: Option<Reg>,
    /// Values below this depth wait across a branch that joins again, in
    /// registers both sides must leave alone: they are never spilled.
    pub(super) floor: usize,
    /// Constants held in a register for the whole function (hoisted out of
    /// its loop), read from there instead of being materialised.
    pub(super) hoisted: SmallVec<[(i64, Reg); 4]>,
    /// Quotients of a variable by a constant held on the operand stack:
    /// (the register owning the quotient, the variable, the divisor). A
    /// remainder of the same division is then `x - q * d`. An entry goes
    /// when its register's value leaves the stack.
    quotients: SmallVec<[(Reg, LocalId, i64); 4]>,
    /// Per variable: reads still to come before its home is released
    /// (0: released at the end of its scope; see
    /// [`crate::codegen::analysis::Facts::release_after`]).
    pub(super) reads_left: SmallVec<[u32; 16]>,
}

/// What disturbs the registers of the values waiting on the operand stack.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) enum Disturbance {
    /// A call, which clobbers every caller-saved register.
    Call,
    /// A branch whose sides join again: their code may contain calls or
    /// fixed-register instructions that move values around on one side
    /// only.
    Join,
}

/// The lowering state at a branch, restored for the other side.
pub(super) struct Snapshot {
    used: RegSet,
    // Heap lists, unlike the live state's inline ones: a snapshot lives in
    // the frame of a recursive lowering call, and an inline list there
    // would grow every level of a deeply nested expression.
    slots: Vec<bool>,
    slot_hint: usize,
    depth: usize,
    frame_ready: bool,
    homes: Vec<Option<Home>>,
}

impl ValueStack {
    pub(super) fn new(locals: usize) -> ValueStack {
        ValueStack {
            vals: SmallVec::new(),
            used: RegSet::EMPTY,
            homes: smallvec![None; locals],
            hint: None,
            floor: 0,
            hoisted: SmallVec::new(),
            quotients: SmallVec::new(),
            reads_left: smallvec![0; locals],
        }
    }

    /// Empties the stack and forgets every home and register (a new copy
    /// of a loop's body starts from nothing).
    pub(super) fn reset(&mut self) {
        self.vals.clear();
        self.used = RegSet::EMPTY;
        self.homes.iter_mut().for_each(|home| *home = None);
        self.hint = None;
        self.floor = 0;
        self.hoisted.clear();
        self.quotients.clear();
    }

    /// Records that the value `Val::Reg(reg)` just pushed is `local / divisor`.
    pub(super) fn note_quotient(&mut self, reg: Reg, local: LocalId, divisor: i64) {
        self.quotients.push((reg, local, divisor));
    }

    /// The register holding `local / divisor` on the stack, if one does.
    pub(super) fn quotient(&self, local: LocalId, divisor: i64) -> Option<Reg> {
        self.quotients
            .iter()
            .find(|&&(_, l, d)| l == local && d == divisor)
            .map(|&(reg, _, _)| reg)
            .filter(|&reg| self.vals.contains(&Val::Reg(reg)))
    }

    /// The value in `reg` left the stack or moved: it is no quotient now.
    fn forget(&mut self, val: Val) {
        if let Val::Reg(reg) = val {
            self.quotients.retain(|&mut (r, _, _)| r != reg);
        }
    }

    /// Replaces the value at `index` (moved elsewhere).
    fn replace(&mut self, index: usize, val: Val) {
        let old = std::mem::replace(&mut self.vals[index], val);
        self.forget(old);
    }

    // (Always inlined: a literal or a variable read is pushed where its
    // parent is lowered, and the call cost as much as the push.)
    #[inline(always)]
    pub(super) fn push(&mut self, val: Val) {
        self.vals.push(val);
    }

    pub(super) fn pop(&mut self) -> Val {
        let val = self.vals.pop().expect("operand stack underflow");
        self.forget(val);
        val
    }

    pub(super) fn top(&self) -> Option<Val> {
        self.vals.last().copied()
    }

    /// The value `depth` places below the top (0 is the top).
    pub(super) fn peek(&self, depth: usize) -> Val {
        self.vals[self.vals.len() - 1 - depth]
    }

    pub(super) fn replace_top(&mut self, val: Val) {
        let top = self
            .vals
            .len()
            .checked_sub(1)
            .expect("operand stack underflow");
        self.replace(top, val);
    }

    pub(super) fn len(&self) -> usize {
        self.vals.len()
    }

    /// The value at `index`, counted from the bottom.
    pub(super) fn at(&self, index: usize) -> Val {
        self.vals[index]
    }

    /// Removes and returns the values from `base` up (a call's arguments,
    /// a loop step's: a few, kept inline).
    pub(super) fn drain_from(&mut self, base: usize) -> SmallVec<[Val; 8]> {
        let vals = SmallVec::from_slice(&self.vals[base..]);
        self.vals.truncate(base);
        for &val in &vals {
            self.forget(val);
        }
        vals
    }
}

impl FuncLowering<'_> {
    /// Whether `disturbance` may move or clobber a value waiting in `reg`
    /// (`owned`: the value owns the register; otherwise it is a deferred
    /// read of a variable living there). A call clobbers every
    /// caller-saved register. Across a branch, a caller-saved register is
    /// safe unless a call may happen inside (in a function that calls, or
    /// in every framed one without [`super::Shape::pool_homes`]) or, for an
    /// owned value, a fixed-register instruction may evict it; spills leave
    /// it alone (see [`ValueStack::floor`]).
    pub(super) fn disturbs(&self, disturbance: Disturbance, reg: Reg, owned: bool) -> bool {
        if !POOL.contains(&reg) {
            return false;
        }
        match disturbance {
            Disturbance::Call => true,
            Disturbance::Join => {
                let calls = if self.shape.pool_homes {
                    !self.shape.only_tail_calls
                } else {
                    self.frame.allowed()
                };
                calls || owned && self.fixed_would_clobber(reg)
            }
        }
    }

    /// Where a variable living in `home` can be read.
    pub(super) fn home_src(&self, home: Home) -> Src {
        match home {
            Home::Reg(reg) => Src::Reg(reg),
            Home::Slot(slot) => Src::Mem(self.frame.slot_mem(slot)),
            Home::Mem(mem) => Src::Mem(mem),
            Home::Alias(root) => {
                self.home_src(self.values.homes[root].expect("aliased variable in scope"))
            }
            Home::Const(value) => self.const_src(value),
        }
    }

    /// Where constant `value` can be read: its hoisted register, or an
    /// immediate.
    pub(super) fn const_src(&self, value: i64) -> Src {
        match self.values.hoisted.iter().find(|&&(c, _)| c == value) {
            Some(&(_, reg)) => Src::Reg(reg),
            None => Src::Imm(value),
        }
    }

    /// Where `val` can be read.
    pub(super) fn src(&self, val: Val) -> Src {
        match val {
            Val::Const(value) => self.const_src(value),
            Val::Reg(reg) => Src::Reg(reg),
            Val::Slot(slot) => Src::Mem(self.frame.slot_mem(slot)),
            Val::Local(local) => {
                self.home_src(self.values.homes[local].expect("variable in scope"))
            }
        }
    }

    /// Releases what `val` owns.
    pub(super) fn free(&mut self, val: Val) {
        match val {
            Val::Reg(reg) => self.values.used.remove(reg),
            Val::Slot(slot) => {
                self.frame.slots[slot as usize] = false;
                self.frame.slot_hint = self.frame.slot_hint.min(slot as usize);
            }
            // The variable's last read: its home is free for other values.
            Val::Local(local) if self.values.reads_left[local] > 0 => {
                self.values.reads_left[local] -= 1;
                if self.values.reads_left[local] == 0
                    && let Some(owned) = self.values.homes[local].take().and_then(|h| h.owned_val())
                {
                    self.free(owned);
                }
            }
            Val::Const(_) | Val::Local(_) => {}
        }
    }

    /// A free register not in `avoid` if there is one: the hint, then the
    /// pool, then (with the frame set up) a saved callee-saved register.
    fn free_reg(&mut self, avoid: RegSet) -> Option<Reg> {
        let used = self.values.used;
        let hint = self.values.hint.take();
        let pool = if !self.shape.fixed.is_empty() {
            POOL_FIXED_LAST
        } else {
            POOL
        };
        let reg = hint
            .filter(|&r| !used.has(r) && !avoid.has(r))
            .or_else(|| pool.into_iter().find(|&r| !used.has(r) && !avoid.has(r)))
            .or_else(|| {
                let saved = self.frame.ready.then_some(&self.frame.saved)?;
                saved.iter().copied().find(|&r| !used.has(r))
            })?;
        self.values.used.insert(reg);
        if let Some(peak) = &mut self.retry.loop_peak {
            *peak = (*peak).max(self.values.used.len());
        }
        Some(reg)
    }

    /// A free register not in `avoid` (see [`Self::free_reg`]); spills a
    /// waiting value if there is none (with a frame), or marks the attempt
    /// failed.
    pub(super) fn alloc_reg(&mut self, avoid: RegSet) -> Reg {
        if let Some(reg) = self.free_reg(avoid) {
            return reg;
        }
        let floor = self.values.floor.min(self.values.len());
        if self.frame.allowed()
            && let Some(index) = (floor..self.values.len())
                .find(|&i| matches!(self.values.vals[i], Val::Reg(r) if !avoid.has(r)))
        {
            let Val::Reg(reg) = self.values.vals[index] else {
                unreachable!()
            };
            let slot = self.alloc_slot();
            self.asm.mov_mr(self.frame.slot_mem(slot), reg);
            self.values.replace(index, Val::Slot(slot));
            return reg;
        }
        self.retry.out_of_registers = true;
        SCRATCH
    }

    /// A free spill slot (setting up the frame if need be).
    pub(super) fn alloc_slot(&mut self) -> u32 {
        self.ensure_frame();
        let frame = &mut self.frame;
        let slot = match frame.slots[frame.slot_hint..].iter().position(|used| !used) {
            Some(free) => frame.slot_hint + free,
            None => {
                frame.slots.push(false);
                frame.slots.len() - 1
            }
        };
        frame.slots[slot] = true;
        frame.slot_hint = slot + 1;
        slot as u32
    }

    /// A place nothing else in the function disturbs, calls included: a
    /// callee-saved register or a slot with a frame, a register outside the
    /// fixed ones without (a frameless function makes no calls).
    pub(super) fn alloc_stable(&mut self) -> Home {
        if self.frame.allowed() {
            self.ensure_frame();
            let used = self.values.used;
            if let Some(&reg) = self.frame.saved.iter().find(|&&r| !used.has(r)) {
                self.values.used.insert(reg);
                return Home::Reg(reg);
            }
            return Home::Slot(self.alloc_slot());
        }
        let avoid = self.shape.fixed;
        Home::Reg(self.alloc_reg(avoid))
    }

    /// A home for a value that need not survive calls: a free caller-saved
    /// register outside `avoid`, else (with a frame) a stable place, else
    /// whatever [`Self::alloc_reg`] finds. Never spills.
    pub(super) fn alloc_home(&mut self, avoid: RegSet) -> Home {
        let used = self.values.used;
        if let Some(reg) = POOL.into_iter().find(|&r| !used.has(r) && !avoid.has(r)) {
            self.values.used.insert(reg);
            return Home::Reg(reg);
        }
        if self.frame.allowed() {
            return self.alloc_stable();
        }
        Home::Reg(self.alloc_reg(avoid))
    }

    /// `home = src`.
    pub(super) fn store(&mut self, home: Home, src: Src) {
        match home {
            Home::Reg(reg) => self.load(reg, src),
            Home::Slot(slot) => {
                let mem = self.frame.slot_mem(slot);
                self.store_mem(mem, src);
            }
            // An incoming stack argument, rewritten by a self tail call.
            Home::Mem(mem) => self.store_mem(mem, src),
            Home::Alias(_) | Home::Const(_) => unreachable!("aliases and constants own no home"),
        }
    }

    /// `[mem] = src`, through the scratch register when `src` is memory
    /// or an immediate that does not fit 32 bits.
    pub(super) fn store_mem(&mut self, mem: Mem, src: Src) {
        match src {
            Src::Reg(reg) => self.asm.mov_mr(mem, reg),
            Src::Mem(from) => {
                self.asm.mov_rm(SCRATCH, from);
                self.asm.mov_mr(mem, SCRATCH);
            }
            Src::Imm(value) if i32::try_from(value).is_ok() => self.asm.mov_mi(mem, value as i32),
            Src::Imm(value) => {
                self.asm.mov_ri(SCRATCH, value);
                self.asm.mov_mr(mem, SCRATCH);
            }
        }
    }

    /// Emits a parallel move (see [`sequence_moves`]).
    pub(super) fn emit_moves(&mut self, moves: &mut Moves) {
        sequence_moves(moves, |step| match step {
                Step::Move(Loc::Reg(dst), src) => self.load(dst, src),
                Step::Move(Loc::Mem(dst), src) => self.store_mem(dst, src),
                Step::Swap(a, b) => self.asm.xchg_rr(a, b),
                Step::SwapMem(reg, mem) => self.asm.xchg_rm(reg, mem),
                Step::RotateMem(cycle) => {
                    self.asm.mov_rm(SCRATCH, cycle[0]);
                    for &mem in cycle[1..].iter().rev() {
                        self.asm.xchg_rm(SCRATCH, mem);
                    }
                    self.asm.mov_mr(cycle[0], SCRATCH);
                }
        });
    }

    /// `dst = src` (flags untouched).
    pub(super) fn load(&mut self, dst: Reg, src: Src) {
        match src {
            Src::Reg(reg) if reg == dst => {}
            Src::Reg(reg) => self.asm.mov_rr(dst, reg),
            Src::Mem(mem) => self.asm.mov_rm(dst, mem),
            Src::Imm(value) => self.asm.mov_ri(dst, value),
        }
    }

    /// A register holding `val` that the caller may overwrite (the result
    /// register of an operation); never one in `avoid`. Consumes `val`.
    pub(super) fn owned(&mut self, val: Val, avoid: RegSet) -> Reg {
        if let Val::Reg(reg) = val
            && !avoid.has(reg)
        {
            return reg;
        }
        // The last read of a variable in a register takes the register
        // over: the operation then runs in place.
        if let Val::Local(local) = val
            && self.values.reads_left[local] == 1
            && let Src::Reg(reg) = self.src(val)
            && !avoid.has(reg)
        {
            self.free(val);
            if !self.values.used.has(reg) {
                self.values.used.insert(reg);
                return reg;
            }
            let to = self.alloc_reg(avoid);
            self.asm.mov_rr(to, reg);
            return to;
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
    pub(super) fn readable(&mut self, val: Val, avoid: RegSet) -> (Reg, Val) {
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

    /// A register holding `val` for reading by a division, which sets
    /// `rax` and `rdx`: its own register if it is neither, else the scratch
    /// register, so that no allocation can fail here.
    pub(super) fn readable_or_scratch(&mut self, val: Val) -> Reg {
        match self.src(val) {
            Src::Reg(reg) if !matches!(reg, Reg::Rax | Reg::Rdx) => reg,
            src => {
                self.load(SCRATCH, src);
                SCRATCH
            }
        }
    }

    /// An operand for an ALU instruction: an immediate if it fits in 32
    /// bits (else loaded into the scratch register), a register or memory.
    pub(super) fn operand(&mut self, val: Val) -> Src {
        match self.src(val) {
            Src::Imm(value) if i32::try_from(value).is_err() => {
                self.asm.mov_ri(SCRATCH, value);
                Src::Reg(SCRATCH)
            }
            src => src,
        }
    }

    /// Moves every value waiting on the operand stack (below the top
    /// `keep`) that `disturbance` could disturb to a stable place: one in a
    /// register it may clobber, and a deferred read of a variable whose
    /// home is such a register (the analysis keeps variables read after a
    /// call out of those; this catches a read the operand stack deferred
    /// past one that the analysis did not foresee, e.g. after folding).
    pub(super) fn stabilize(&mut self, keep: usize, disturbance: Disturbance) {
        let below = self.values.len() - keep;
        for index in 0..below {
            let val = self.values.vals[index];
            let (reg, owned) = match (val, self.src(val)) {
                (Val::Reg(reg), _) => (reg, true),
                (Val::Local(_), Src::Reg(reg)) => (reg, false),
                _ => continue,
            };
            if !self.disturbs(disturbance, reg, owned) {
                continue;
            }
            let home = self.alloc_stable();
            self.store(home, Src::Reg(reg));
            if owned {
                self.values.used.remove(reg);
            }
            self.values
                .replace(index, home.owned_val().expect("an owned home"));
        }
    }

    /// Frees `reg` for an instruction that needs it, moving the value on
    /// the operand stack that owns it elsewhere.
    pub(super) fn evict(&mut self, reg: Reg) {
        if !self.values.used.has(reg) {
            return;
        }
        let Some(index) = self.values.vals.iter().position(|&v| v == Val::Reg(reg)) else {
            // Only operand-stack values are ever in fixed registers.
            self.retry.out_of_registers = true;
            return;
        };
        // Elsewhere: a free register outside the fixed ones, or a slot
        // (never below the floor of a join: values waiting across a branch
        // are never in fixed registers, see `disturbs`).
        let to = match self.free_reg(self.shape.fixed.with(reg)) {
            Some(to) => {
                self.asm.mov_rr(to, reg);
                Val::Reg(to)
            }
            None if self.frame.allowed() => {
                let slot = self.alloc_slot();
                self.asm.mov_mr(self.frame.slot_mem(slot), reg);
                Val::Slot(slot)
            }
            None => {
                let to = self.alloc_reg(self.shape.fixed.with(reg));
                self.asm.mov_rr(to, reg);
                Val::Reg(to)
            }
        };
        self.values.used.remove(reg);
        self.values.replace(index, to);
    }

    /// The state to restore for the other side of a branch (in lists the
    /// [`super::Room`] had spare).
    pub(super) fn snapshot(&mut self) -> Snapshot {
        let mut slots = self.room.slots.pop().unwrap_or_default();
        slots.extend_from_slice(&self.frame.slots);
        let mut homes = self.room.homes.pop().unwrap_or_default();
        homes.extend_from_slice(&self.values.homes);
        Snapshot {
            used: self.values.used,
            slots,
            slot_hint: self.frame.slot_hint,
            depth: self.values.len(),
            frame_ready: self.frame.ready,
            homes,
        }
    }

    /// Restores `snapshot`, whose lists go back to the room.
    pub(super) fn restore(&mut self, snapshot: Snapshot) {
        self.values.used = snapshot.used;
        let len = self.frame.slots.len();
        self.frame.slots.clear();
        self.frame.slots.extend_from_slice(&snapshot.slots);
        // Slots first used on the other side stay reserved in the frame.
        self.frame.slots.resize(len, false);
        self.frame.slot_hint = snapshot.slot_hint;
        self.values.vals.truncate(snapshot.depth);
        self.frame.ready = snapshot.frame_ready;
        self.values.homes.clear();
        self.values.homes.extend_from_slice(&snapshot.homes);
        let Snapshot {
            mut slots,
            mut homes,
            ..
        } = snapshot;
        slots.clear();
        homes.clear();
        self.room.slots.push(slots);
        self.room.homes.push(homes);
        // Restored at a label only jumps reach.
        self.cfi_settled();
    }

    /// Prepares a branch whose two sides join again: the frame is set up
    /// (so both sides agree on it), waiting values are where neither side
    /// disturbs them, and none is spilled inside. Returns what
    /// [`Self::after_join`] restores.
    pub(super) fn before_join(&mut self) -> usize {
        self.ensure_frame();
        self.stabilize(0, Disturbance::Join);
        let depth = self.values.len();
        std::mem::replace(&mut self.values.floor, depth)
    }

    /// Closes a join opened by [`Self::before_join`].
    pub(super) fn after_join(&mut self, floor: usize) {
        self.values.floor = floor;
    }
}
