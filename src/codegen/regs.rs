//! Registers and the virtual operand stack of the lowering.
//!
//! The lowering keeps every intermediate value on a virtual stack of
//! [`Val`]s: a constant not yet materialised, a register it owns, a spill
//! slot it owns, or a borrowed read of a variable (whose [`Home`] is a
//! register or memory). Instructions are chosen when values are consumed, so
//! constants become immediates and variables are read in place.

use smallvec::SmallVec;

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

    /// The registers in either set.
    pub fn union(self, other: RegSet) -> RegSet {
        RegSet(self.0 | other.0)
    }

    /// Whether the set holds no register.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// How many registers the set holds.
    pub fn len(self) -> usize {
        self.0.count_ones() as usize
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

/// [`POOL`] for a function whose division or variable shifts need `rax`,
/// `rdx` or `rcx`: those last, so that fewer values have to be moved out of
/// their way.
pub const POOL_FIXED_LAST: [Reg; 8] = [
    Reg::R10,
    Reg::R9,
    Reg::R8,
    Reg::Rdi,
    Reg::Rsi,
    Reg::Rax,
    Reg::Rcx,
    Reg::Rdx,
];

/// Never allocated: the scratch register of single instruction sequences
/// (a large immediate, a memory-to-memory move, the stack check).
pub const SCRATCH: Reg = Reg::R11;

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
    /// An incoming stack argument (written only by a self tail call).
    Mem(Mem),
    /// The variable is another's value (`let y = x`, an argument `x` of an
    /// inlined call): reads go to that one, which is never an alias.
    Alias(LocalId),
    /// The variable is a constant.
    Const(i64),
}

impl Home {
    /// The operand-stack value that owns this home (when a `let`'s value
    /// outlives its scope, or is released); `None` for homes owned by
    /// nothing (incoming arguments, aliases, constants).
    pub fn owned_val(self) -> Option<Val> {
        match self {
            Home::Reg(reg) => Some(Val::Reg(reg)),
            Home::Slot(slot) => Some(Val::Slot(slot)),
            Home::Mem(_) | Home::Alias(_) | Home::Const(_) => None,
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

/// A place a parallel move writes: a register, or memory based on `rsp` or
/// `rbp` (which no move writes).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Loc {
    Reg(Reg),
    Mem(Mem),
}

impl Loc {
    /// Whether reading `src` reads this place.
    fn is_read_by(self, src: Src) -> bool {
        match (self, src) {
            (Loc::Reg(a), Src::Reg(b)) => a == b,
            (Loc::Mem(a), Src::Mem(b)) => a == b,
            _ => false,
        }
    }

    /// This place as a source.
    fn as_src(self) -> Src {
        match self {
            Loc::Reg(reg) => Src::Reg(reg),
            Loc::Mem(mem) => Src::Mem(mem),
        }
    }
}

/// Orders the moves `dst <- src` (all `dst` distinct) so that no source is
/// overwritten before it is read. Once no move can go first (every
/// destination is still to be read), the moves left form disjoint cycles,
/// each place read by exactly one move: a cycle is broken with `xchg` of
/// two registers, or of a register and memory, or, all in memory, rotated
/// through the scratch register. Needs no free register. Hands each step
/// to `emit` as it is found (emptying `pending`): nothing is listed.
pub fn sequence_moves(pending: &mut Moves, mut emit: impl FnMut(Step)) {
    // Moves of a place to itself are dropped now, and again after a swap,
    // which alone changes sources (so alone can make more of them).
    pending.retain(|&mut (dst, src)| !dst.is_read_by(src));
    loop {
        if pending.is_empty() {
            return;
        }
        let free = pending
            .iter()
            .position(|&(dst, _)| !pending.iter().any(|&(_, src)| dst.is_read_by(src)));
        if let Some(index) = free {
            let (dst, src) = pending.remove(index);
            emit(Step::Move(dst, src));
            continue;
        }
        // Swap a destination with its source: the move is done, and the
        // destination's old value, which one other move reads, is now in
        // the source's place.
        let swap = pending
            .iter()
            .position(|&(dst, src)| matches!((dst, src), (Loc::Reg(_), Src::Reg(_))))
            .or_else(|| {
                pending.iter().position(|&(dst, src)| {
                    matches!(
                        (dst, src),
                        (Loc::Reg(_), Src::Mem(_)) | (Loc::Mem(_), Src::Reg(_))
                    )
                })
            });
        if let Some(index) = swap {
            let (dst, src) = pending.remove(index);
            let (old, now_at) = match (dst, src) {
                (Loc::Reg(a), Src::Reg(b)) => {
                    emit(Step::Swap(a, b));
                    (dst.as_src(), src)
                }
                (Loc::Reg(reg), Src::Mem(mem)) | (Loc::Mem(mem), Src::Reg(reg)) => {
                    emit(Step::SwapMem(reg, mem));
                    (dst.as_src(), src)
                }
                _ => unreachable!("chosen for a register on one side"),
            };
            for (_, src) in pending.iter_mut() {
                if *src == old {
                    *src = now_at;
                }
            }
            pending.retain(|&mut (dst, src)| !dst.is_read_by(src));
            continue;
        }
        // A cycle wholly in memory: m0 <- m1 <- ... <- m(k-1) <- m0.
        let (Loc::Mem(first), _) = pending[0] else {
            unreachable!("only memory-to-memory cycles are left")
        };
        let mut cycle = vec![first];
        loop {
            let at = *cycle.last().expect("not empty");
            let index = pending
                .iter()
                .position(|&(dst, _)| dst == Loc::Mem(at))
                .expect("every place of a cycle is written");
            let (_, src) = pending.remove(index);
            let Src::Mem(next) = src else {
                unreachable!("a memory cycle reads memory")
            };
            if next == first {
                break;
            }
            cycle.push(next);
        }
        emit(Step::RotateMem(cycle));
    }
}

/// The moves of a parallel move (`dst <- src`, see [`sequence_moves`]).
/// Inline for the few of a call's arguments or a loop's parameters: a
/// heap list per call cost more than sequencing it.
pub type Moves = SmallVec<[(Loc, Src); 8]>;

/// One instruction (or, for [`Step::RotateMem`], a few) of a sequenced
/// parallel move.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Move(Loc, Src),
    /// `xchg a, b`
    Swap(Reg, Reg),
    /// `xchg reg, [mem]` (implicitly locked, so slow; only to break a
    /// cycle when nothing else can).
    SwapMem(Reg, Mem),
    /// `m[0] <- m[1] <- ... <- m[k-1] <- m[0]` through the scratch
    /// register: load `m[0]`, exchange it with `m[k-1]` down to `m[1]`,
    /// store it to `m[0]`.
    RotateMem(Vec<Mem>),
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the steps on a model machine (sixteen registers and a few
    /// memory words) and checks every destination got its source's
    /// original value.
    fn check(moves: Vec<(Loc, Src)>) {
        use std::collections::HashMap;
        let mut regs: [i64; 16] = std::array::from_fn(|i| 100 + i as i64);
        let mut memory: HashMap<i32, i64> = (0..8).map(|i| (8 * i, 1000 + i64::from(i))).collect();
        let (original_regs, original_memory) = (regs, memory.clone());
        let read = |regs: &[i64; 16], memory: &HashMap<i32, i64>, src: Src| match src {
            Src::Reg(r) => regs[r.number() as usize],
            Src::Mem(m) => memory[&m.disp],
            Src::Imm(v) => v,
        };
        let mut steps = Vec::new();
        sequence_moves(&mut moves.iter().copied().collect(), |step| steps.push(step));
        for step in steps {
            match step {
                Step::Move(Loc::Reg(dst), src) => {
                    regs[dst.number() as usize] = read(&regs, &memory, src)
                }
                Step::Move(Loc::Mem(dst), src) => {
                    let value = read(&regs, &memory, src);
                    memory.insert(dst.disp, value);
                }
                Step::Swap(a, b) => regs.swap(a.number() as usize, b.number() as usize),
                Step::SwapMem(reg, mem) => {
                    let at = memory.get_mut(&mem.disp).expect("a model word");
                    std::mem::swap(&mut regs[reg.number() as usize], at);
                }
                Step::RotateMem(cycle) => {
                    let mut scratch = memory[&cycle[0].disp];
                    for mem in cycle[1..].iter().rev() {
                        std::mem::swap(&mut scratch, memory.get_mut(&mem.disp).expect("word"));
                    }
                    memory.insert(cycle[0].disp, scratch);
                }
            }
        }
        for (dst, src) in moves {
            let expected = read(&original_regs, &original_memory, src);
            let got = match dst {
                Loc::Reg(r) => regs[r.number() as usize],
                Loc::Mem(m) => memory[&m.disp],
            };
            assert_eq!(got, expected, "{dst:?}");
        }
    }

    fn regs(moves: &[(Reg, Src)]) -> Vec<(Loc, Src)> {
        moves
            .iter()
            .map(|&(dst, src)| (Loc::Reg(dst), src))
            .collect()
    }

    fn word(index: i32) -> Mem {
        Mem::new(Reg::Rbp, 8 * index)
    }

    #[test]
    fn parallel_moves_respect_every_source() {
        use Reg::*;
        check(regs(&[(Rdi, Src::Reg(Rsi)), (Rsi, Src::Reg(Rdi))]));
        check(regs(&[
            (Rdi, Src::Reg(Rsi)),
            (Rsi, Src::Reg(Rdx)),
            (Rdx, Src::Reg(Rdi)),
            (Rcx, Src::Reg(Rdi)),
        ]));
        check(regs(&[
            (Rdi, Src::Reg(Rsi)),
            (Rsi, Src::Reg(Rdi)),
            (Rdx, Src::Reg(Rsi)),
            (Rcx, Src::Imm(5)),
            (R8, Src::Mem(word(1))),
        ]));
        check(regs(&[
            (Rdi, Src::Reg(Rdi)),
            (Rsi, Src::Reg(Rax)),
            (Rax, Src::Reg(Rsi)),
        ]));
        check(regs(&[
            (Rdi, Src::Reg(R8)),
            (Rsi, Src::Reg(R8)),
            (R8, Src::Reg(R9)),
            (R9, Src::Reg(Rdi)),
        ]));
    }

    #[test]
    fn parallel_moves_into_memory_need_no_free_register() {
        use Reg::*;
        let mem = |index| Loc::Mem(word(index));
        // A chain through memory (a loop shifting its stack parameters).
        check(vec![
            (Loc::Reg(R9), Src::Mem(word(0))),
            (mem(0), Src::Mem(word(1))),
            (mem(1), Src::Mem(word(2))),
            (mem(2), Src::Reg(Rax)),
            (mem(3), Src::Imm(-7)),
        ]);
        // Swaps and rotations wholly in memory.
        check(vec![
            (mem(0), Src::Mem(word(1))),
            (mem(1), Src::Mem(word(0))),
        ]);
        check(vec![
            (mem(0), Src::Mem(word(1))),
            (mem(1), Src::Mem(word(2))),
            (mem(2), Src::Mem(word(3))),
            (mem(3), Src::Mem(word(0))),
            (mem(4), Src::Mem(word(5))),
            (mem(5), Src::Mem(word(4))),
        ]);
        // Cycles through registers and memory, with a reader outside.
        check(vec![
            (Loc::Reg(Rdi), Src::Mem(word(0))),
            (mem(0), Src::Reg(Rsi)),
            (Loc::Reg(Rsi), Src::Reg(Rdi)),
            (mem(1), Src::Mem(word(2))),
            (mem(2), Src::Reg(Rdx)),
            (Loc::Reg(Rdx), Src::Mem(word(1))),
        ]);
        check(vec![
            (mem(0), Src::Reg(Rdi)),
            (Loc::Reg(Rdi), Src::Mem(word(0))),
            (Loc::Reg(Rax), Src::Mem(word(0))),
        ]);
    }
}
