//! The virtual operand stack and register allocation, as one piece: every
//! intermediate value is a [`Val`] on the stack (a constant, an owned
//! register or slot, a deferred read of a variable); registers are taken
//! from [`POOL`] as values need them, and when there are none a waiting
//! value is spilled to a frame slot. Variables live in [`Home`]s.
//!
//! [`ValueStack`] is the state; the `impl FuncLowering` below holds the
//! operations that also emit code (loads, stores, spills), because those
//! need the assembler and the frame.

use super::FuncLowering;
use crate::abi::Reg;
use crate::codegen::regs::{FIXED, Home, POOL, RegSet, SCRATCH, Src, Val};
use crate::codegen::x64::Mem;

/// The operand stack, which registers are in use, and where each variable
/// lives.
pub(super) struct ValueStack {
    vals: Vec<Val>,
    /// Registers owned by a value or holding a variable.
    pub(super) used: RegSet,
    /// Where each variable lives while it is in scope.
    pub(super) homes: Vec<Option<Home>>,
    /// The register the next allocation should take if it is free: the
    /// argument register of the call argument being evaluated, so that its
    /// value is computed in place.
    pub(super) hint: Option<Reg>,
}

/// The lowering state at a branch, restored for the other side.
pub(super) struct Snapshot {
    used: RegSet,
    slots: Vec<bool>,
    slot_hint: usize,
    depth: usize,
    frame_ready: bool,
    homes: Vec<Option<Home>>,
}

impl ValueStack {
    pub(super) fn new(locals: usize) -> ValueStack {
        ValueStack {
            vals: Vec::new(),
            used: RegSet::EMPTY,
            homes: vec![None; locals],
            hint: None,
        }
    }

    pub(super) fn push(&mut self, val: Val) {
        self.vals.push(val);
    }

    pub(super) fn pop(&mut self) -> Val {
        self.vals.pop().expect("operand stack underflow")
    }

    pub(super) fn top(&self) -> Option<Val> {
        self.vals.last().copied()
    }

    /// The value `depth` places below the top (0 is the top).
    pub(super) fn peek(&self, depth: usize) -> Val {
        self.vals[self.vals.len() - 1 - depth]
    }

    pub(super) fn replace_top(&mut self, val: Val) {
        *self.vals.last_mut().expect("operand stack underflow") = val;
    }

    pub(super) fn len(&self) -> usize {
        self.vals.len()
    }

    /// Removes and returns the values from `base` up.
    pub(super) fn drain_from(&mut self, base: usize) -> Vec<Val> {
        self.vals.drain(base..).collect()
    }
}

impl FuncLowering<'_> {
    /// A register that something in the function may move a value out of:
    /// all caller-saved registers when there is a frame (calls clobber
    /// them; slots and callee-saved registers are the stable places), else
    /// only the ones fixed instructions need.
    pub(super) fn is_volatile(&self, reg: Reg) -> bool {
        POOL.contains(&reg)
            && (self.frame.allowed() || (self.shape.uses_fixed_regs && FIXED.has(reg)))
    }

    fn home_src(&self, home: Home) -> Src {
        match home {
            Home::Reg(reg) => Src::Reg(reg),
            Home::Slot(slot) => Src::Mem(self.frame.slot_mem(slot)),
            Home::Mem(mem) => Src::Mem(mem),
        }
    }

    /// Where `val` can be read.
    pub(super) fn src(&self, val: Val) -> Src {
        match val {
            Val::Const(value) => Src::Imm(value),
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
            Val::Const(_) | Val::Local(_) => {}
        }
    }

    /// A free caller-saved register not in `avoid`; spills a waiting value
    /// if there is none (with a frame), or marks the attempt failed.
    pub(super) fn alloc_reg(&mut self, avoid: RegSet) -> Reg {
        let used = self.values.used;
        if let Some(reg) = self.values.hint.take()
            && !used.has(reg)
            && !avoid.has(reg)
        {
            self.values.used.insert(reg);
            return reg;
        }
        if let Some(reg) = POOL.into_iter().find(|&r| !used.has(r) && !avoid.has(r)) {
            self.values.used.insert(reg);
            return reg;
        }
        if self.frame.ready
            && let Some(&reg) = self.frame.saved.iter().find(|&&r| !used.has(r))
        {
            self.values.used.insert(reg);
            return reg;
        }
        if self.frame.allowed()
            && let Some(index) = (0..self.values.len()).position(|i| {
                matches!(self.values.vals[i], Val::Reg(r) if POOL.contains(&r) && !avoid.has(r))
            })
        {
            let Val::Reg(reg) = self.values.vals[index] else {
                unreachable!()
            };
            let slot = self.alloc_slot();
            self.asm.mov_mr(self.frame.slot_mem(slot), reg);
            self.values.vals[index] = Val::Slot(slot);
            return reg;
        }
        self.out_of_registers = true;
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

    /// A place nothing else in the function disturbs: a callee-saved
    /// register or a slot with a frame, a register outside the fixed ones
    /// without.
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
        let avoid = if self.shape.uses_fixed_regs {
            FIXED
        } else {
            RegSet::EMPTY
        };
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
            Home::Mem(_) => unreachable!("incoming arguments are never written"),
        }
    }

    /// `[mem] = src`, through the scratch register when `src` is not a
    /// register.
    pub(super) fn store_mem(&mut self, mem: Mem, src: Src) {
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

    /// A register holding `val` for reading by a fixed-register sequence
    /// (division): its own register if it is outside `rax`/`rcx`/`rdx`,
    /// else the scratch register, so that no allocation can fail here.
    pub(super) fn readable_or_scratch(&mut self, val: Val) -> Reg {
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
    /// `keep`) that sits in a volatile register to a stable place, so that
    /// a call or the code on either side of a branch cannot disturb it.
    pub(super) fn stabilize(&mut self, keep: usize) {
        let below = self.values.len() - keep;
        for index in 0..below {
            if let Val::Reg(reg) = self.values.vals[index]
                && self.is_volatile(reg)
            {
                let home = self.alloc_stable();
                self.store(home, Src::Reg(reg));
                self.values.used.remove(reg);
                self.values.vals[index] = home.owned_val();
            }
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
            self.out_of_registers = true;
            return;
        };
        let to = self.alloc_reg(FIXED);
        self.asm.mov_rr(to, reg);
        self.values.used.remove(reg);
        self.values.vals[index] = Val::Reg(to);
    }

    /// The state to restore for the other side of a branch.
    pub(super) fn snapshot(&self) -> Snapshot {
        Snapshot {
            used: self.values.used,
            slots: self.frame.slots.clone(),
            slot_hint: self.frame.slot_hint,
            depth: self.values.len(),
            frame_ready: self.frame.ready,
            homes: self.values.homes.clone(),
        }
    }

    pub(super) fn restore(&mut self, snapshot: &Snapshot) {
        self.values.used = snapshot.used;
        let len = self.frame.slots.len();
        self.frame.slots.clone_from(&snapshot.slots);
        // Slots first used on the other side stay reserved in the frame.
        self.frame.slots.resize(len, false);
        self.frame.slot_hint = snapshot.slot_hint;
        self.values.vals.truncate(snapshot.depth);
        self.frame.ready = snapshot.frame_ready;
        self.values.homes.clone_from(&snapshot.homes);
    }

    /// Prepares a branch whose two sides join again: the frame is set up
    /// (so both sides agree on it) and waiting values are stable.
    pub(super) fn before_join(&mut self) {
        self.ensure_frame();
        self.stabilize(0);
    }
}
