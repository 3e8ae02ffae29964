//! Registers and the virtual operand stack of the lowering.
//!
//! The lowering keeps every intermediate value on a virtual stack of
//! [`Val`]s: a constant not yet materialised, a register it owns, a spill
//! slot it owns, or a borrowed read of a variable (whose [`Home`] is a
//! register or memory). Instructions are chosen when values are consumed, so
//! constants become immediates and variables are read in place.

use crate::abi::Reg;
use crate::codegen::x64::Mem;
use crate::ir::LocalId;

/// A set of registers, one bit per hardware number.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct RegSet(u16);

impl RegSet {
    pub const EMPTY: RegSet = RegSet(0);

    pub const fn of(regs: &[Reg]) -> RegSet {
        let mut bits = 0u16;
        let mut i = 0;
        while i < regs.len() {
            bits |= 1 << regs[i] as u8;
            i += 1;
        }
        RegSet(bits)
    }

    pub fn has(self, reg: Reg) -> bool {
        self.0 & (1 << reg.number()) != 0
    }

    pub fn insert(&mut self, reg: Reg) {
        self.0 |= 1 << reg.number();
    }

    pub fn remove(&mut self, reg: Reg) {
        self.0 &= !(1 << reg.number());
    }

    pub fn with(mut self, reg: Reg) -> RegSet {
        self.insert(reg);
        self
    }
}

/// Caller-saved registers temporaries are allocated from, in order of
/// preference (argument registers last, since parameters live there).
pub const POOL: [Reg; 8] = [
    Reg::Rax,
    Reg::Rcx,
    Reg::Rdx,
    Reg::R10,
    Reg::R9,
    Reg::R8,
    Reg::Rdi,
    Reg::Rsi,
];

/// Never allocated: the scratch register of single instruction sequences
/// (a large immediate, a memory-to-memory move, the stack check).
pub const SCRATCH: Reg = Reg::R11;

/// Registers that `idiv`, one-operand `imul` and variable shifts need:
/// nothing long-lived is kept in them in a function that uses those.
pub const FIXED: RegSet = RegSet::of(&[Reg::Rax, Reg::Rcx, Reg::Rdx]);

/// A value on the virtual operand stack.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Val {
    /// A constant, materialised only if an instruction cannot take it as an
    /// immediate.
    Const(i64),
    /// A register the value owns.
    Reg(Reg),
    /// A spill slot of the frame the value owns.
    Slot(u32),
    /// The value of a variable, read from its home when consumed. Variables
    /// never change, so the read can be deferred.
    Local(LocalId),
}

/// Where a variable lives.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Home {
    Reg(Reg),
    Slot(u32),
    /// An incoming stack argument.
    Mem(Mem),
}

impl Home {
    /// The operand-stack value that owns this home (when a `let`'s value
    /// outlives its scope, or is released).
    pub fn owned_val(self) -> Val {
        match self {
            Home::Reg(reg) => Val::Reg(reg),
            Home::Slot(slot) => Val::Slot(slot),
            Home::Mem(_) => unreachable!("incoming arguments are not owned"),
        }
    }
}

/// Where an operand can be read from by an instruction.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Src {
    Reg(Reg),
    Mem(Mem),
    Imm(i64),
}

/// Orders the moves `dst <- src` (all `dst` distinct registers) so that no
/// source is overwritten before it is read; cycles are broken with `xchg`.
/// Memory operands are based on `rsp`/`rbp`, which are never destinations.
/// Returns the instructions as `Move` or `Swap` steps.
pub fn sequence_moves(mut pending: Vec<(Reg, Src)>) -> Vec<Step> {
    let mut steps = Vec::with_capacity(pending.len());
    loop {
        pending.retain(|&(dst, src)| src != Src::Reg(dst));
        if pending.is_empty() {
            return steps;
        }
        let free = pending
            .iter()
            .position(|&(dst, _)| !pending.iter().any(|&(_, src)| src == Src::Reg(dst)));
        if let Some(index) = free {
            let (dst, src) = pending.remove(index);
            steps.push(Step::Move(dst, src));
            continue;
        }
        // Every destination is still to be read: the register moves form
        // cycles. Swap one pair; reads of either register now find the
        // value in the other.
        let index = pending
            .iter()
            .position(|&(_, src)| matches!(src, Src::Reg(_)))
            .expect("a blocked parallel move has a register source");
        let (dst, src) = pending.remove(index);
        let Src::Reg(other) = src else { unreachable!() };
        steps.push(Step::Swap(dst, other));
        for (_, src) in &mut pending {
            if *src == Src::Reg(dst) {
                *src = Src::Reg(other);
            } else if *src == Src::Reg(other) {
                *src = Src::Reg(dst);
            }
        }
    }
}

/// One instruction of a sequenced parallel move.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Move(Reg, Src),
    Swap(Reg, Reg),
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the steps on a model register file and checks every destination
    /// got its source's original value.
    fn check(moves: Vec<(Reg, Src)>) {
        let mut regs: [i64; 16] = std::array::from_fn(|i| 100 + i as i64);
        let original = regs;
        let read = |regs: &[i64; 16], src: Src| match src {
            Src::Reg(r) => regs[r.number() as usize],
            Src::Mem(m) => 1000 + i64::from(m.disp),
            Src::Imm(v) => v,
        };
        for step in sequence_moves(moves.clone()) {
            match step {
                Step::Move(dst, src) => regs[dst.number() as usize] = read(&regs, src),
                Step::Swap(a, b) => regs.swap(a.number() as usize, b.number() as usize),
            }
        }
        for (dst, src) in moves {
            assert_eq!(regs[dst.number() as usize], read(&original, src), "{dst:?}");
        }
    }

    #[test]
    fn parallel_moves_respect_every_source() {
        use Reg::*;
        check(vec![(Rdi, Src::Reg(Rsi)), (Rsi, Src::Reg(Rdi))]);
        check(vec![
            (Rdi, Src::Reg(Rsi)),
            (Rsi, Src::Reg(Rdx)),
            (Rdx, Src::Reg(Rdi)),
            (Rcx, Src::Reg(Rdi)),
        ]);
        check(vec![
            (Rdi, Src::Reg(Rsi)),
            (Rsi, Src::Reg(Rdi)),
            (Rdx, Src::Reg(Rsi)),
            (Rcx, Src::Imm(5)),
            (R8, Src::Mem(Mem::new(Rbp, -8))),
        ]);
        check(vec![
            (Rdi, Src::Reg(Rdi)),
            (Rsi, Src::Reg(Rax)),
            (Rax, Src::Reg(Rsi)),
        ]);
        check(vec![
            (Rdi, Src::Reg(R8)),
            (Rsi, Src::Reg(R8)),
            (R8, Src::Reg(R9)),
            (R9, Src::Reg(Rdi)),
        ]);
    }
}
