//! The x86-64 instruction encoder.
//!
//! One method per instruction form, named by its operand kinds in Intel
//! operand order, destination first (as cranelift's assembler does; Winch
//! uses the same suffixes in source-first order, so its `mov_rm` is a
//! store): `add_rr` is `add reg, reg`, `add_ri` takes an immediate,
//! `mov_rm` loads from memory (`reg <- [mem]`) and `mov_mr` stores
//! (`[mem] <- reg`). Every operation is 64-bit unless its doc says
//! otherwise. Memory operands are `[base + disp]`.
//!
//! Jumps and calls name a [`Label`]; the rel32 is filled in by
//! [`Assembler::finish`], so labels may be used before they are bound.
//! Once a function is complete, [`Assembler::relax`] shortens its jumps to
//! labels inside it to rel8 where the distance allows (and drops jumps to
//! the next instruction and instructions marked dead), moving the code
//! after them up, and [`Assembler::seal`] fills in the fields whose
//! targets are bound and recycles the function's own labels, so that
//! neither the labels nor the fixups pile up over a large program.
//!
//! The byte-level corners of the encoding (REX prefixes, ModRM/SIB and the
//! special cases of `rsp`/`r12` and `rbp`/`r13` as a base) live in a few
//! small helpers at the bottom, modelled on cranelift's `rex.rs`.

pub use crate::abi::Reg;

mod relax;

use relax::Edit;
pub use relax::Relocation;

impl Reg {
    /// Every register, in hardware order.
    #[cfg(test)]
    pub const ALL: [Reg; 16] = [
        Reg::Rax,
        Reg::Rcx,
        Reg::Rdx,
        Reg::Rbx,
        Reg::Rsp,
        Reg::Rbp,
        Reg::Rsi,
        Reg::Rdi,
        Reg::R8,
        Reg::R9,
        Reg::R10,
        Reg::R11,
        Reg::R12,
        Reg::R13,
        Reg::R14,
        Reg::R15,
    ];

    /// The hardware register number, 0 to 15.
    pub fn number(self) -> u8 {
        self as u8
    }

    /// The low three bits, which go into ModRM or the opcode.
    fn low(self) -> u8 {
        self.number() & 7
    }

    /// The 64-bit name in Intel syntax, e.g. `rax`.
    #[cfg(test)]
    pub fn name(self) -> &'static str {
        [
            "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11",
            "r12", "r13", "r14", "r15",
        ][self as usize]
    }
}

/// A memory operand `[base + disp]`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Mem {
    pub base: Reg,
    pub disp: i32,
}

impl Mem {
    pub fn new(base: Reg, disp: i32) -> Mem {
        Mem { base, disp }
    }
}

/// A condition code; the discriminant is the `cc` of `jcc`/`setcc`/`cmovcc`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Cond {
    /// Overflow.
    O = 0,
    No,
    /// Unsigned below.
    B,
    Ae,
    /// Equal (zero).
    E,
    Ne,
    Be,
    A,
    /// Sign (negative).
    S,
    Ns,
    P,
    Np,
    /// Signed less.
    L,
    Ge,
    Le,
    G,
}

impl Cond {
    const ALL: [Cond; 16] = [
        Cond::O,
        Cond::No,
        Cond::B,
        Cond::Ae,
        Cond::E,
        Cond::Ne,
        Cond::Be,
        Cond::A,
        Cond::S,
        Cond::Ns,
        Cond::P,
        Cond::Np,
        Cond::L,
        Cond::Ge,
        Cond::Le,
        Cond::G,
    ];

    /// The opposite condition. The encoding pairs each condition with its
    /// negation, differing only in the lowest bit.
    pub fn invert(self) -> Cond {
        Cond::ALL[(self as usize) ^ 1]
    }
}

/// A position in the code that jumps and calls can target.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Label(u32);

impl Label {
    /// Its number: labels are numbered in the order they are made.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// Where an unbound label's slot in [`Assembler`]'s table points.
const UNBOUND: u32 = u32::MAX;

/// Fills in the rel32 field at `at` of `code` to reach `target`.
pub fn write_rel32(code: &mut [u8], at: usize, target: usize) {
    write_rel32_in(code, 0, at, target);
}

/// [`write_rel32`] into `piece`, code that starts at offset `base` of the
/// whole: the field is at `at` in the piece, `target` an offset of the
/// whole.
pub fn write_rel32_in(piece: &mut [u8], base: usize, at: usize, target: usize) {
    let field_end = (base + at) as i64 + 4;
    let rel = i32::try_from(target as i64 - field_end).expect("jump farther than 2 GiB");
    piece[at..at + 4].copy_from_slice(&rel.to_le_bytes());
}

/// Where a 32-bit immediate was emitted, so that it can be patched once its
/// value is known (e.g. a frame size), and where its instruction starts and
/// ends (so that it can be dropped if the value makes it a no-op).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ImmSlot {
    imm: usize,
    instruction: usize,
}

/// Accumulates machine code.
#[derive(Debug, Default)]
pub struct Assembler {
    code: Vec<u8>,
    /// The bound offset of each label, by label number, or [`UNBOUND`].
    /// (Offsets are `u32`, as in the fixups: a part's code is far below
    /// 4 GiB, and the halved tables were a large share of the peak
    /// memory of compiling a large program.)
    labels: Vec<u32>,
    /// How many of `labels` (the first ones) outlive a function: those
    /// made before [`Assembler::share_labels`]. [`Assembler::seal`]
    /// recycles the others.
    shared: u32,
    /// rel32 fields to fill in: (offset of the field, target), in code
    /// order (so the fields of the code from an offset on are a suffix).
    /// Those of sealed code are only the ones to labels not bound then.
    fixups: Vec<(u32, Label)>,
    /// How many of `fixups` are of sealed code: [`Assembler::seal`]
    /// looks at the others only.
    fixups_sealed: usize,
    /// How many of `fixups` belong to code [`Assembler::relax`] already
    /// covered: searches for the fixups of newer code start here, because
    /// a binary search over every fixup of a large program costs a cache
    /// miss per step, which was most of the time of relaxing a function.
    fixups_relaxed: usize,
    /// Where each `jmp`/`jcc` to a label emitted since the last
    /// [`Assembler::relax`] starts (in the rel32 form it is emitted in).
    branches: Vec<usize>,
    /// Instructions (start, length) that [`Assembler::relax`] drops.
    dead: Vec<(usize, usize)>,
    /// The labels bound since the last [`Assembler::relax`]: all that it
    /// and [`Assembler::truncate`] may have to move or unbind, so that
    /// neither looks at every label of the program (which made compiling
    /// many functions quadratic).
    recent: Vec<u32>,
    /// [`Assembler::relax`]'s list of edits, kept between functions.
    edits: Vec<Edit>,
    /// How the last [`Assembler::relax`] moved code, kept between
    /// functions for its buffer.
    moved: Relocation,
}

/// The `/n` opcode extensions of the group-1 ALU instructions (`81 /n`,
/// `83 /n`) and their register-to-register opcodes (`op r/m64, r64`).
#[derive(Copy, Clone)]
struct AluOp {
    extension: u8,
    store_opcode: u8,
}

const ADD: AluOp = AluOp {
    extension: 0,
    store_opcode: 0x01,
};
const OR: AluOp = AluOp {
    extension: 1,
    store_opcode: 0x09,
};
const AND: AluOp = AluOp {
    extension: 4,
    store_opcode: 0x21,
};
const SUB: AluOp = AluOp {
    extension: 5,
    store_opcode: 0x29,
};
const XOR: AluOp = AluOp {
    extension: 6,
    store_opcode: 0x31,
};
const CMP: AluOp = AluOp {
    extension: 7,
    store_opcode: 0x39,
};

impl AluOp {
    /// The `op r64, r/m64` opcode (load direction).
    fn load_opcode(self) -> u8 {
        self.store_opcode + 2
    }
}

/// `/n` extensions of the shift group (`C1 /n`, `D3 /n`).
const SHL: u8 = 4;
const SHR: u8 = 5;
const SAR: u8 = 7;

impl Assembler {
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes emitted so far; the offset of the next instruction.
    pub fn offset(&self) -> usize {
        self.code.len()
    }

    /// Pads with `int3` (which traps if ever run) up to a multiple of
    /// `boundary` bytes, a power of two: function entries are aligned so
    /// that their loops' layout does not depend on the code before them.
    pub fn align_with_int3(&mut self, boundary: usize) {
        debug_assert!(boundary.is_power_of_two());
        let padding = self.code.len().next_multiple_of(boundary) - self.code.len();
        self.code.resize(self.code.len() + padding, 0xCC);
    }

    /// Pads with `bytes` bytes of `int3`.
    pub fn pad_with_int3(&mut self, bytes: usize) {
        self.code.resize(self.code.len() + bytes, 0xCC);
    }

    pub fn new_label(&mut self) -> Label {
        let label = Label(u32::try_from(self.labels.len()).expect("too many labels"));
        self.labels.push(UNBOUND);
        label
    }

    /// Makes the labels made so far shared: code anywhere may use them
    /// (a program's functions, the trap exit). Labels made from now on
    /// belong to the function (or other code) being emitted: once it is
    /// sealed ([`Self::seal`]) they are made again for the next one, and a
    /// [`Label`] kept from before names another label.
    pub fn share_labels(&mut self) {
        self.shared = u32::try_from(self.labels.len()).expect("too many labels");
    }

    /// Binds `label` to the current offset.
    ///
    /// # Panics
    /// If the label is already bound.
    pub fn bind(&mut self, label: Label) {
        let at = self.offset32();
        let slot = &mut self.labels[label.0 as usize];
        assert!(*slot == UNBOUND, "label bound twice");
        *slot = at;
        self.recent.push(label.0);
    }

    /// The offset `label` is bound to, if it is bound yet.
    pub fn label_offset(&self, label: Label) -> Option<usize> {
        self.bound(label.0)
    }

    /// Where label number `label` is bound, if it is.
    fn bound(&self, label: u32) -> Option<usize> {
        match self.labels[label as usize] {
            UNBOUND => None,
            at => Some(at as usize),
        }
    }

    /// [`Self::offset`] as the tables keep it.
    fn offset32(&self) -> u32 {
        u32::try_from(self.code.len())
            .ok()
            .filter(|&at| at != UNBOUND)
            .expect("code of 4 GiB or more")
    }

    /// Finishes the code emitted so far (a function, after its
    /// [`Self::relax`]; and whatever came before it): fills in the rel32
    /// fields that target bound labels, and forgets them; the others
    /// (calls to functions not emitted yet, or emitted by another part)
    /// stay for [`Self::finish_bound`]. The labels not shared (see
    /// [`Self::share_labels`]) are recycled, so that the tables stay the
    /// size of the shared labels and the largest function's, not of the
    /// program. Nothing before the current offset may change afterwards:
    /// neither [`Self::relax`] nor [`Self::truncate`] reaches back that
    /// far.
    ///
    /// # Panics
    /// If code jumps to a label not shared that is not bound (a code
    /// generator bug: nothing could bind it any more).
    pub fn seal(&mut self) {
        // Its jumps are relaxed: their fields are final.
        debug_assert!(self.branches.is_empty() && self.dead.is_empty(), "sealed before relaxing");
        let mut kept = self.fixups_sealed;
        let mut relaxed = kept;
        for index in self.fixups_sealed..self.fixups.len() {
            let (at, label) = self.fixups[index];
            match self.bound(label.0) {
                Some(target) => write_rel32(&mut self.code, at as usize, target),
                None => {
                    assert!(label.0 < self.shared, "jump to a label never bound");
                    self.fixups[kept] = (at, label);
                    kept += 1;
                    relaxed += usize::from(index < self.fixups_relaxed);
                }
            }
        }
        self.fixups.truncate(kept);
        self.fixups_sealed = kept;
        // Of the fixups kept, those of relaxed code: the sealed ones
        // before and the kept ones below the old count (after `relax`,
        // which covers all), or the old count if it did not reach past
        // the sealed ones.
        self.fixups_relaxed = relaxed.min(self.fixups_relaxed);
        self.labels.truncate(self.shared as usize);
        let shared = self.shared;
        self.recent.retain(|&label| label < shared);
    }

    /// Resolves every jump and call and returns the code.
    ///
    /// # Panics
    /// If a label that is jumped to was never bound (a code generator bug).
    pub fn finish(self) -> Vec<u8> {
        let (code, unresolved) = self.finish_bound();
        assert!(unresolved.is_empty(), "jump to a label never bound");
        code
    }

    /// Resolves the jumps and calls to bound labels; returns the code and
    /// the rel32 fields (offset, label) of the others, for the caller to
    /// fill in with [`write_rel32`] once it knows where their targets are
    /// (code generated in parts, see `codegen::shards`).
    pub fn finish_bound(mut self) -> (Vec<u8>, Vec<(u32, Label)>) {
        let mut unresolved = Vec::new();
        for &(at, label) in &self.fixups {
            match self.bound(label.0) {
                Some(target) => write_rel32(&mut self.code, at as usize, target),
                None => unresolved.push((at, label)),
            }
        }
        (self.code, unresolved)
    }

    /// The index of the first fixup at `offset` or after it.
    fn first_fixup_at(&self, offset: usize) -> usize {
        let relaxed = self.fixups_relaxed.min(self.fixups.len());
        if relaxed > 0 && self.fixups[relaxed - 1].0 as usize >= offset {
            // Behind the relaxed code: search everything.
            return self.fixups.partition_point(|&(at, _)| (at as usize) < offset);
        }
        relaxed + self.fixups[relaxed..].partition_point(|&(at, _)| (at as usize) < offset)
    }

    /// Discards everything emitted from `offset` on: the code, the jumps
    /// recorded there, and the bindings of labels bound there (so that the
    /// same labels can be bound again when the code is re-emitted).
    pub fn truncate(&mut self, offset: usize) {
        self.code.truncate(offset);
        let keep = self.first_fixup_at(offset);
        debug_assert!(keep >= self.fixups_sealed, "truncated sealed code");
        self.fixups.truncate(keep);
        self.fixups_relaxed = self.fixups_relaxed.min(keep);
        self.branches.retain(|&at| at < offset);
        self.dead.retain(|&(at, _)| at < offset);
        // Labels bound there were bound since the last relaxation, which
        // covered code before `offset` only.
        let labels = &mut self.labels;
        self.recent.retain(|&label| {
            let bound = &mut labels[label as usize];
            if *bound != UNBOUND && *bound as usize >= offset {
                *bound = UNBOUND;
                false
            } else {
                true
            }
        });
    }

    /// Overwrites the immediate at `slot`.
    pub fn patch_i32(&mut self, slot: ImmSlot, value: i32) {
        self.code[slot.imm..slot.imm + 4].copy_from_slice(&value.to_le_bytes());
    }

    /// Marks the instruction holding `slot` dead: [`Self::relax`] drops it
    /// (an `add rsp, 0` once the frame size is known to be zero).
    pub fn drop_instruction(&mut self, slot: ImmSlot) {
        self.dead
            .push((slot.instruction, slot.imm + 4 - slot.instruction));
    }

    // ---- moves ----------------------------------------------------------

    /// `mov dst, src`
    pub fn mov_rr(&mut self, dst: Reg, src: Reg) {
        self.op_rr(&[0x89], src, dst);
    }

    /// `mov dst, imm`, in the shortest form: `mov r32, imm32` zero-extends,
    /// `mov r/m64, imm32` sign-extends, otherwise the 10-byte `movabs`.
    /// Flags are never touched (unlike the `xor r, r` idiom for zero), so
    /// this is safe between a compare and its jump.
    pub fn mov_ri(&mut self, dst: Reg, imm: i64) {
        let opcode = 0xB8 + dst.low();
        if let Ok(imm) = u32::try_from(imm) {
            let [a, b, c, d] = imm.to_le_bytes();
            match rex(false, 0, 0, dst.number()) {
                REX => self.append([opcode, a, b, c, d]),
                rex => self.append([rex, opcode, a, b, c, d]),
            }
        } else if let Ok(imm) = i32::try_from(imm) {
            let [rex, modrm] = ext_bytes(0, dst);
            let [a, b, c, d] = imm.to_le_bytes();
            self.append([rex, 0xC7, modrm, a, b, c, d]);
        } else {
            let [a, b, c, d, e, f, g, h] = imm.to_le_bytes();
            let rex = rex(true, 0, 0, dst.number());
            self.append([rex, opcode, a, b, c, d, e, f, g, h]);
        }
    }

    /// `mov dst, [src]`
    pub fn mov_rm(&mut self, dst: Reg, src: Mem) {
        self.op_rm(&[0x8B], dst, src);
    }

    /// `mov [dst], src`
    pub fn mov_mr(&mut self, dst: Mem, src: Reg) {
        self.op_rm(&[0x89], src, dst);
    }

    /// `mov dst32, src32`: the low 32 bits of `src`, zero-extended into all
    /// 64 bits of `dst` (`src & 0xFFFFFFFF`).
    pub fn mov_r32(&mut self, dst: Reg, src: Reg) {
        self.rex_opt(false, src.number(), 0, dst.number());
        self.byte(0x89);
        self.byte(modrm(0b11, src.low(), dst.low()));
    }

    /// `mov qword [dst], imm32` (sign-extended): stores a small constant
    /// without a register.
    pub fn mov_mi(&mut self, dst: Mem, imm: i32) {
        self.op_rm(&[0xC7], Reg::Rax, dst);
        self.bytes(&imm.to_le_bytes());
    }

    /// `movzx dst32, src8`: zero-extends the low byte of `src` into all 64
    /// bits of `dst`.
    pub fn movzx_r8(&mut self, dst: Reg, src: Reg) {
        self.rex_byte_operand(dst.number(), src);
        self.bytes(&[0x0F, 0xB6]);
        self.byte(modrm(0b11, dst.low(), src.low()));
    }

    /// `lea dst, [src]`
    pub fn lea(&mut self, dst: Reg, src: Mem) {
        self.op_rm(&[0x8D], dst, src);
    }

    // ---- arithmetic and logic --------------------------------------------

    pub fn add_rr(&mut self, dst: Reg, src: Reg) {
        self.alu_rr(ADD, dst, src);
    }
    pub fn add_ri(&mut self, dst: Reg, imm: i32) {
        self.alu_ri(ADD, dst, imm);
    }
    pub fn add_rm(&mut self, dst: Reg, src: Mem) {
        self.alu_rm(ADD, dst, src);
    }

    pub fn sub_rr(&mut self, dst: Reg, src: Reg) {
        self.alu_rr(SUB, dst, src);
    }
    pub fn sub_ri(&mut self, dst: Reg, imm: i32) {
        self.alu_ri(SUB, dst, imm);
    }
    pub fn sub_rm(&mut self, dst: Reg, src: Mem) {
        self.alu_rm(SUB, dst, src);
    }

    /// `sub dst, imm32` always in the 4-byte-immediate form; returns where
    /// the immediate is so that it can be patched later.
    pub fn sub_ri32(&mut self, dst: Reg, imm: i32) -> ImmSlot {
        let instruction = self.offset();
        self.op_r_ext(&[0x81], SUB.extension, dst);
        let slot = ImmSlot {
            imm: self.offset(),
            instruction,
        };
        self.bytes(&imm.to_le_bytes());
        slot
    }

    /// `add dst, imm32` always in the 4-byte-immediate form; returns where
    /// the immediate is so that it can be patched later.
    pub fn add_ri32(&mut self, dst: Reg, imm: i32) -> ImmSlot {
        let instruction = self.offset();
        self.op_r_ext(&[0x81], ADD.extension, dst);
        let slot = ImmSlot {
            imm: self.offset(),
            instruction,
        };
        self.bytes(&imm.to_le_bytes());
        slot
    }

    pub fn and_rr(&mut self, dst: Reg, src: Reg) {
        self.alu_rr(AND, dst, src);
    }
    pub fn and_ri(&mut self, dst: Reg, imm: i32) {
        self.alu_ri(AND, dst, imm);
    }
    pub fn and_rm(&mut self, dst: Reg, src: Mem) {
        self.alu_rm(AND, dst, src);
    }

    pub fn or_rr(&mut self, dst: Reg, src: Reg) {
        self.alu_rr(OR, dst, src);
    }
    pub fn or_ri(&mut self, dst: Reg, imm: i32) {
        self.alu_ri(OR, dst, imm);
    }
    pub fn or_rm(&mut self, dst: Reg, src: Mem) {
        self.alu_rm(OR, dst, src);
    }

    pub fn xor_rr(&mut self, dst: Reg, src: Reg) {
        self.alu_rr(XOR, dst, src);
    }
    pub fn xor_ri(&mut self, dst: Reg, imm: i32) {
        self.alu_ri(XOR, dst, imm);
    }
    pub fn xor_rm(&mut self, dst: Reg, src: Mem) {
        self.alu_rm(XOR, dst, src);
    }

    /// `cmp a, b` (flags from `a - b`).
    pub fn cmp_rr(&mut self, a: Reg, b: Reg) {
        self.alu_rr(CMP, a, b);
    }
    pub fn cmp_ri(&mut self, a: Reg, imm: i32) {
        self.alu_ri(CMP, a, imm);
    }
    pub fn cmp_rm(&mut self, a: Reg, b: Mem) {
        self.alu_rm(CMP, a, b);
    }

    /// `test a, b` (flags from `a & b`).
    pub fn test_rr(&mut self, a: Reg, b: Reg) {
        self.op_rr(&[0x85], b, a);
    }

    /// `test a, imm32` (flags from `a & imm`, sign-extended).
    pub fn test_ri(&mut self, a: Reg, imm: i32) {
        self.op_r_ext(&[0xF7], 0, a);
        self.bytes(&imm.to_le_bytes());
    }

    /// `imul dst, src` (wrapping 64-bit multiply).
    pub fn imul_rr(&mut self, dst: Reg, src: Reg) {
        self.op_rr(&[0x0F, 0xAF], dst, src);
    }

    /// `imul dst, [src]`
    pub fn imul_rm(&mut self, dst: Reg, src: Mem) {
        self.op_rm(&[0x0F, 0xAF], dst, src);
    }

    /// `imul dst, src, imm`
    pub fn imul_rri(&mut self, dst: Reg, src: Reg, imm: i32) {
        let [rex, modrm] = rr_bytes(dst, src);
        if let Ok(imm) = i8::try_from(imm) {
            self.append([rex, 0x6B, modrm, imm as u8]);
        } else {
            let [a, b, c, d] = imm.to_le_bytes();
            self.append([rex, 0x69, modrm, a, b, c, d]);
        }
    }

    /// `imul r` (one operand): `rdx:rax = rax * r`, the full signed 128-bit
    /// product; the high half is what division by a magic number needs.
    pub fn imul_wide_r(&mut self, r: Reg) {
        self.op_r_ext(&[0xF7], 5, r);
    }

    /// `xchg a, b`: swaps two registers (breaks cycles of register moves).
    pub fn xchg_rr(&mut self, a: Reg, b: Reg) {
        self.op_rr(&[0x87], b, a);
    }

    /// `xchg reg, [mem]`: swaps a register with memory (implicitly locked,
    /// so slow: only a parallel move with nothing else to break a cycle
    /// with uses it).
    pub fn xchg_rm(&mut self, reg: Reg, mem: Mem) {
        self.op_rm(&[0x87], reg, mem);
    }

    /// `xor r32, r32`: the shortest way to zero a register. Clobbers the
    /// flags, unlike [`Self::mov_ri`].
    pub fn zero_r(&mut self, r: Reg) {
        self.rex_opt(false, r.number(), 0, r.number());
        self.byte(0x31);
        self.byte(modrm(0b11, r.low(), r.low()));
    }

    /// `neg r` (wrapping).
    pub fn neg_r(&mut self, r: Reg) {
        self.op_r_ext(&[0xF7], 3, r);
    }

    /// `not r`
    pub fn not_r(&mut self, r: Reg) {
        self.op_r_ext(&[0xF7], 2, r);
    }

    /// `shl r, count`
    pub fn shl_ri(&mut self, r: Reg, count: u8) {
        self.shift_ri(SHL, r, count);
    }
    /// `sar r, count` (arithmetic)
    pub fn sar_ri(&mut self, r: Reg, count: u8) {
        self.shift_ri(SAR, r, count);
    }
    /// `shr r, count` (logical)
    pub fn shr_ri(&mut self, r: Reg, count: u8) {
        self.shift_ri(SHR, r, count);
    }

    /// `shl r, cl`
    pub fn shl_rcl(&mut self, r: Reg) {
        self.op_r_ext(&[0xD3], SHL, r);
    }
    /// `sar r, cl`
    pub fn sar_rcl(&mut self, r: Reg) {
        self.op_r_ext(&[0xD3], SAR, r);
    }

    /// `cqo`: sign-extends `rax` into `rdx:rax` ahead of `idiv`.
    pub fn cqo(&mut self) {
        self.bytes(&[0x48, 0x99]);
    }

    /// `div r32`: `eax = edx:eax / r32`, `edx = edx:eax % r32` (unsigned,
    /// 32-bit; both results zero-extended into the 64-bit registers).
    pub fn div_r32(&mut self, r: Reg) {
        self.rex_opt(false, 0, 0, r.number());
        self.bytes(&[0xF7, modrm(0b11, 6, r.low())]);
    }

    /// `idiv r`: `rax = rdx:rax / r`, `rdx = rdx:rax % r` (signed).
    pub fn idiv_r(&mut self, r: Reg) {
        self.op_r_ext(&[0xF7], 7, r);
    }

    /// `setcc dst8`: the low byte of `dst` becomes 1 if `cond` holds, else
    /// 0. The other bits are unchanged.
    pub fn setcc(&mut self, cond: Cond, dst: Reg) {
        self.rex_byte_operand(0, dst);
        self.bytes(&[0x0F, 0x90 + cond as u8]);
        self.byte(modrm(0b11, 0, dst.low()));
    }

    /// `cmovcc dst, src`
    pub fn cmovcc(&mut self, cond: Cond, dst: Reg, src: Reg) {
        self.op_rr(&[0x0F, 0x40 + cond as u8], dst, src);
    }

    // ---- stack and control flow --------------------------------------------

    pub fn push_r(&mut self, r: Reg) {
        self.opcode_r(0x50, r);
    }

    pub fn pop_r(&mut self, r: Reg) {
        self.opcode_r(0x58, r);
    }

    /// An instruction whose opcode holds the register (`push`, `pop`).
    fn opcode_r(&mut self, opcode: u8, r: Reg) {
        match rex(false, 0, 0, r.number()) {
            REX => self.append([opcode + r.low()]),
            rex => self.append([rex, opcode + r.low()]),
        }
    }

    /// `jmp target` (rel32; [`Self::relax`] may shorten it)
    pub fn jmp(&mut self, target: Label) {
        self.branches.push(self.offset());
        self.fixup_after(1, target);
        self.append([0xE9, 0, 0, 0, 0]);
    }

    /// `jcc target` (rel32; [`Self::relax`] may shorten it)
    pub fn jcc(&mut self, cond: Cond, target: Label) {
        self.branches.push(self.offset());
        self.fixup_after(2, target);
        self.append([0x0F, 0x80 + cond as u8, 0, 0, 0, 0]);
    }

    /// `call target` (rel32)
    pub fn call(&mut self, target: Label) {
        self.fixup_after(1, target);
        self.append([0xE8, 0, 0, 0, 0]);
    }

    /// `call r`
    pub fn call_r(&mut self, r: Reg) {
        self.rex_opt(false, 0, 0, r.number());
        self.bytes(&[0xFF, modrm(0b11, 2, r.low())]);
    }

    /// `call [mem]`: an indirect call through a word in memory (a slot of
    /// a REPL session's function table).
    pub fn call_m(&mut self, mem: Mem) {
        self.rex_opt(false, 0, 0, mem.base.number());
        self.byte(0xFF);
        self.mem_operand(2, mem);
    }

    /// `jmp [mem]`
    pub fn jmp_m(&mut self, mem: Mem) {
        self.rex_opt(false, 0, 0, mem.base.number());
        self.byte(0xFF);
        self.mem_operand(4, mem);
    }

    /// `lea dst, [rip + disp]`: `disp` counts from the end of this
    /// instruction.
    pub fn lea_rip(&mut self, dst: Reg, disp: i32) {
        self.byte(rex(true, dst.number(), 0, 0));
        self.byte(0x8D);
        self.byte(modrm(0b00, dst.low(), 0b101));
        self.bytes(&disp.to_le_bytes());
    }

    /// `jmp r`
    pub fn jmp_r(&mut self, r: Reg) {
        self.rex_opt(false, 0, 0, r.number());
        self.bytes(&[0xFF, modrm(0b11, 4, r.low())]);
    }

    pub fn ret(&mut self) {
        self.byte(0xC3);
    }

    /// `ret imm16`: returns and then pops `bytes` of stack arguments (the
    /// callee-pops convention exprjit uses for arguments past the sixth).
    pub fn ret_pop(&mut self, bytes: u16) {
        if bytes == 0 {
            self.ret();
        } else {
            self.byte(0xC2);
            self.bytes(&bytes.to_le_bytes());
        }
    }

    // ---- instruction shapes --------------------------------------------------

    fn alu_rr(&mut self, op: AluOp, dst: Reg, src: Reg) {
        self.op_rr(&[op.store_opcode], src, dst);
    }

    fn alu_rm(&mut self, op: AluOp, dst: Reg, src: Mem) {
        self.op_rm(&[op.load_opcode()], dst, src);
    }

    /// Group-1 ALU with an immediate: the sign-extended imm8 form when the
    /// value fits, else imm32.
    fn alu_ri(&mut self, op: AluOp, dst: Reg, imm: i32) {
        let [rex, modrm] = ext_bytes(op.extension, dst);
        if let Ok(imm) = i8::try_from(imm) {
            self.append([rex, 0x83, modrm, imm as u8]);
        } else {
            let [a, b, c, d] = imm.to_le_bytes();
            self.append([rex, 0x81, modrm, a, b, c, d]);
        }
    }

    fn shift_ri(&mut self, extension: u8, r: Reg, count: u8) {
        let [rex, modrm] = ext_bytes(extension, r);
        self.append([rex, 0xC1, modrm, count]);
    }

    /// A 64-bit instruction with ModRM in register form: `reg` goes in the
    /// ModRM reg field, `rm` in the r/m field. (Each instruction is
    /// appended at once: a push per byte checked the capacity per byte,
    /// which cost more than the encoding.)
    #[inline(always)]
    fn op_rr(&mut self, opcode: &[u8], reg: Reg, rm: Reg) {
        let [rex, modrm] = rr_bytes(reg, rm);
        self.append_op(rex, opcode, modrm);
    }

    /// A 64-bit instruction whose ModRM reg field is an opcode extension.
    #[inline(always)]
    fn op_r_ext(&mut self, opcode: &[u8], extension: u8, rm: Reg) {
        let [rex, modrm] = ext_bytes(extension, rm);
        self.append_op(rex, opcode, modrm);
    }

    /// Appends `rex`, the one- or two-byte `opcode` and `modrm` at once.
    #[inline(always)]
    fn append_op(&mut self, rex: u8, opcode: &[u8], modrm: u8) {
        match *opcode {
            [op] => self.append([rex, op, modrm]),
            [op, op2] => self.append([rex, op, op2, modrm]),
            _ => unreachable!("opcodes are one or two bytes"),
        }
    }

    /// Appends the bytes of one instruction.
    #[inline(always)]
    fn append<const N: usize>(&mut self, bytes: [u8; N]) {
        self.code.extend_from_slice(&bytes);
    }

    /// A 64-bit instruction with a memory operand.
    #[inline(always)]
    fn op_rm(&mut self, opcode: &[u8], reg: Reg, mem: Mem) {
        let rex = rex(true, reg.number(), 0, mem.base.number());
        match *opcode {
            [op] => self.append([rex, op]),
            [op, op2] => self.append([rex, op, op2]),
            _ => unreachable!("opcodes are one or two bytes"),
        }
        self.mem_operand(reg.low(), mem);
    }

    /// ModRM (+ SIB) (+ displacement) for `[base + disp]`, appended in one
    /// piece.
    fn mem_operand(&mut self, reg_field: u8, mem: Mem) {
        let base = mem.base.low();
        // r/m = 101 with mod = 00 means RIP-relative, so rbp and r13 always
        // carry a displacement, if only a zero byte.
        let mode = if mem.disp == 0 && base != 0b101 {
            0b00
        } else if i8::try_from(mem.disp).is_ok() {
            0b01
        } else {
            0b10
        };
        let [d0, d1, d2, d3] = mem.disp.to_le_bytes();
        // r/m = 100 means "a SIB byte follows", so rsp and r12 as a base
        // need the SIB form with no index (index = 100).
        if base == 0b100 {
            let (modrm, sib) = (modrm(mode, reg_field, 0b100), sib(0, 0b100, base));
            match mode {
                0b00 => self.append([modrm, sib]),
                0b01 => self.append([modrm, sib, d0]),
                _ => self.append([modrm, sib, d0, d1, d2, d3]),
            }
        } else {
            let modrm = modrm(mode, reg_field, base);
            match mode {
                0b00 => self.append([modrm]),
                0b01 => self.append([modrm, d0]),
                _ => self.append([modrm, d0, d1, d2, d3]),
            }
        }
    }

    /// Emits a REX prefix only if one of the registers is extended.
    fn rex_opt(&mut self, w: bool, reg: u8, index: u8, rm: u8) {
        let rex = rex(w, reg, index, rm);
        if rex != REX {
            self.byte(rex);
        }
    }

    /// The REX prefix for an instruction with an 8-bit register operand
    /// `byte_reg` in r/m: without any REX, numbers 4 to 7 would mean
    /// `ah`..`bh` instead of `spl`..`dil`.
    fn rex_byte_operand(&mut self, reg: u8, byte_reg: Reg) {
        let rex = rex(false, reg, 0, byte_reg.number());
        if rex != REX || (4..8).contains(&byte_reg.number()) {
            self.byte(rex);
        }
    }

    /// Records the rel32 field to `target` of an instruction about to be
    /// appended whose field follows its `opcode_len` bytes of opcode (the
    /// instruction then goes in in one piece).
    fn fixup_after(&mut self, opcode_len: usize, target: Label) {
        let at = u32::try_from(self.code.len() + opcode_len)
            .ok()
            .filter(|&at| at != UNBOUND)
            .expect("code of 4 GiB or more");
        self.fixups.push((at, target));
    }


    fn byte(&mut self, byte: u8) {
        self.code.push(byte);
    }

    fn bytes(&mut self, bytes: &[u8]) {
        self.code.extend_from_slice(bytes);
    }
}

/// A REX prefix with no bits set.
const REX: u8 = 0x40;

/// The REX prefix: W selects 64-bit operands; R, X and B extend the ModRM
/// reg field, the SIB index and the ModRM r/m (or SIB base, or opcode
/// register) to reach r8..r15.
fn rex(w: bool, reg: u8, index: u8, rm: u8) -> u8 {
    REX | (u8::from(w) << 3) | ((reg >> 3) << 2) | ((index >> 3) << 1) | (rm >> 3)
}

/// The REX prefix and register-form ModRM of a 64-bit instruction with
/// `reg` in the ModRM reg field and `rm` in the r/m field.
#[inline(always)]
fn rr_bytes(reg: Reg, rm: Reg) -> [u8; 2] {
    [
        rex(true, reg.number(), 0, rm.number()),
        modrm(0b11, reg.low(), rm.low()),
    ]
}

/// [`rr_bytes`] with an opcode extension in the reg field.
#[inline(always)]
fn ext_bytes(extension: u8, rm: Reg) -> [u8; 2] {
    [rex(true, 0, 0, rm.number()), modrm(0b11, extension, rm.low())]
}

fn modrm(mode: u8, reg: u8, rm: u8) -> u8 {
    debug_assert!(mode < 4 && reg < 8 && rm < 8);
    (mode << 6) | (reg << 3) | rm
}

fn sib(scale: u8, index: u8, base: u8) -> u8 {
    debug_assert!(scale < 4 && index < 8 && base < 8);
    (scale << 6) | (index << 3) | base
}

/// The cross-check of every instruction form against the `iced-x86` decoder.
#[cfg(test)]
#[path = "x64_decode_tests.rs"]
mod decode_tests;

#[cfg(test)]
mod tests {
    use super::Reg::*;
    use super::*;

    fn bytes(emit: impl FnOnce(&mut Assembler)) -> Vec<u8> {
        let mut asm = Assembler::new();
        emit(&mut asm);
        asm.finish()
    }

    fn hex(bytes: &[u8]) -> String {
        let parts: Vec<String> = bytes.iter().map(|b| format!("{b:02X}")).collect();
        parts.join(" ")
    }

    #[track_caller]
    fn check(expected: &str, emit: impl FnOnce(&mut Assembler)) {
        assert_eq!(hex(&bytes(emit)), expected);
    }

    #[test]
    fn the_classic_examples() {
        check("B8 01 00 00 00", |a| a.mov_ri(Rax, 1));
        check("48 01 F0", |a| a.add_rr(Rax, Rsi));
        check("C3", |a| a.ret());
    }

    #[test]
    fn moves() {
        check("49 89 C0", |a| a.mov_rr(R8, Rax));
        check("4C 89 F8", |a| a.mov_rr(Rax, R15));
        check("48 C7 C0 FF FF FF FF", |a| a.mov_ri(Rax, -1));
        check("41 B9 FF FF FF FF", |a| a.mov_ri(R9, 0xFFFF_FFFF));
        check("49 BA 88 77 66 55 44 33 22 11", |a| {
            a.mov_ri(R10, 0x1122_3344_5566_7788)
        });
        check("48 B8 00 00 00 00 00 00 00 80", |a| a.mov_ri(Rax, i64::MIN));
        check("48 8D 47 05", |a| a.lea(Rax, Mem::new(Rdi, 5)));
    }

    #[test]
    fn addressing_corners() {
        check("48 8B 44 24 08", |a| a.mov_rm(Rax, Mem::new(Rsp, 8)));
        check("49 8B 04 24", |a| a.mov_rm(Rax, Mem::new(R12, 0)));
        check("48 8B 45 00", |a| a.mov_rm(Rax, Mem::new(Rbp, 0)));
        check("49 8B 45 00", |a| a.mov_rm(Rax, Mem::new(R13, 0)));
        check("48 8B 8D 18 FC FF FF", |a| {
            a.mov_rm(Rcx, Mem::new(Rbp, -1000))
        });
        check("4C 89 7D F8", |a| a.mov_mr(Mem::new(Rbp, -8), R15));
        check("48 8B 03", |a| a.mov_rm(Rax, Mem::new(Rbx, 0)));
        check("4D 8B 7F 80", |a| a.mov_rm(R15, Mem::new(R15, -128)));
        check("48 89 84 24 80 00 00 00", |a| {
            a.mov_mr(Mem::new(Rsp, 128), Rax)
        });
    }

    #[test]
    fn alu() {
        check("48 83 C1 05", |a| a.add_ri(Rcx, 5));
        check("48 81 C1 E8 03 00 00", |a| a.add_ri(Rcx, 1000));
        check("48 83 E8 80", |a| a.sub_ri(Rax, -128));
        check("48 81 E8 80 00 00 00", |a| a.sub_ri(Rax, 128));
        check("49 81 EB 00 00 00 00", |a| {
            a.sub_ri32(R11, 0);
        });
        check("49 3B 43 08", |a| a.cmp_rm(Rax, Mem::new(R11, 8)));
        check("48 39 C8", |a| a.cmp_rr(Rax, Rcx));
        check("48 83 F9 FF", |a| a.cmp_ri(Rcx, -1));
        check("48 21 D0", |a| a.and_rr(Rax, Rdx));
        check("48 09 D0", |a| a.or_rr(Rax, Rdx));
        check("48 31 D0", |a| a.xor_rr(Rax, Rdx));
        check("48 03 45 F0", |a| a.add_rm(Rax, Mem::new(Rbp, -16)));
        check("48 2B 45 F0", |a| a.sub_rm(Rax, Mem::new(Rbp, -16)));
        check("48 23 45 F0", |a| a.and_rm(Rax, Mem::new(Rbp, -16)));
        check("48 0B 45 F0", |a| a.or_rm(Rax, Mem::new(Rbp, -16)));
        check("48 33 45 F0", |a| a.xor_rm(Rax, Mem::new(Rbp, -16)));
        check("48 81 E0 00 00 00 C0", |a| a.and_ri(Rax, -0x4000_0000));
        check("48 85 C0", |a| a.test_rr(Rax, Rax));
        check("4D 85 C9", |a| a.test_rr(R9, R9));
    }

    #[test]
    fn multiply_divide_shift() {
        check("48 0F AF C1", |a| a.imul_rr(Rax, Rcx));
        check("4C 0F AF 45 F8", |a| a.imul_rm(R8, Mem::new(Rbp, -8)));
        check("48 6B C0 03", |a| a.imul_rri(Rax, Rax, 3));
        check("4D 69 C1 E8 03 00 00", |a| a.imul_rri(R8, R9, 1000));
        check("48 F7 D8", |a| a.neg_r(Rax));
        check("49 F7 D4", |a| a.not_r(R12));
        check("48 C1 E0 03", |a| a.shl_ri(Rax, 3));
        check("48 C1 F8 3F", |a| a.sar_ri(Rax, 63));
        check("48 C1 E8 01", |a| a.shr_ri(Rax, 1));
        check("48 D3 FA", |a| a.sar_rcl(Rdx));
        check("48 D3 E0", |a| a.shl_rcl(Rax));
        check("48 99", |a| a.cqo());
        check("48 F7 F9", |a| a.idiv_r(Rcx));
        check("49 F7 FB", |a| a.idiv_r(R11));
    }

    #[test]
    fn wide_multiply_exchange_zero_and_ret_pop() {
        check("48 F7 E9", |a| a.imul_wide_r(Reg::Rcx));
        check("49 F7 E8", |a| a.imul_wide_r(Reg::R8));
        check("48 87 FE", |a| a.xchg_rr(Reg::Rsi, Reg::Rdi));
        check("4D 87 D3", |a| a.xchg_rr(Reg::R11, Reg::R10));
        check("31 C0", |a| a.zero_r(Reg::Rax));
        check("45 31 DB", |a| a.zero_r(Reg::R11));
        check("C2 10 00", |a| a.ret_pop(16));
        check("C3", |a| a.ret_pop(0));
    }

    #[test]
    fn byte_registers() {
        check("0F 94 C0", |a| a.setcc(Cond::E, Rax));
        check("40 0F 94 C6", |a| a.setcc(Cond::E, Rsi));
        check("41 0F 9C C1", |a| a.setcc(Cond::L, R9));
        check("0F B6 C0", |a| a.movzx_r8(Rax, Rax));
        check("40 0F B6 C7", |a| a.movzx_r8(Rax, Rdi));
        check("45 0F B6 C0", |a| a.movzx_r8(R8, R8));
        check("48 0F 4C C1", |a| a.cmovcc(Cond::L, Rax, Rcx));
    }

    #[test]
    fn stack_and_calls() {
        check("41 54", |a| a.push_r(R12));
        check("55", |a| a.push_r(Rbp));
        check("5D", |a| a.pop_r(Rbp));
        check("41 5F", |a| a.pop_r(R15));
        check("FF D0", |a| a.call_r(Rax));
        check("41 FF D3", |a| a.call_r(R11));
        check("41 FF E3", |a| a.jmp_r(R11));
    }

    #[test]
    fn labels_resolve_forward_and_backward() {
        let code = bytes(|a| {
            let top = a.new_label();
            let end = a.new_label();
            a.bind(top);
            a.jmp(end); // 0: E9 rel32 -> end at 16
            a.jcc(Cond::Ne, top); // 5: 0F 85 rel32 -> 0
            a.call(top); // 11: E8 rel32 -> 0
            a.bind(end);
            a.ret(); // 16
        });
        assert_eq!(
            hex(&code),
            "E9 0B 00 00 00 0F 85 F5 FF FF FF E8 F0 FF FF FF C3"
        );
    }

    #[test]
    fn sealing_fills_in_what_is_bound_and_recycles_local_labels() {
        // Two functions calling each other and the shared exit, each with
        // a loop of its own; the same bytes whether sealed or not.
        let emit = |seal: bool| {
            let mut a = Assembler::new();
            let exit = a.new_label();
            let (f, g) = (a.new_label(), a.new_label());
            a.share_labels();
            a.bind(exit);
            a.ret();
            let mut tables = Vec::new();
            for (this, other) in [(f, g), (g, f)] {
                let from = a.offset();
                a.bind(this);
                let (top, end) = (a.new_label(), a.new_label());
                a.bind(top);
                a.jcc(Cond::Ne, end);
                a.call(other);
                a.call(exit);
                a.jmp(top);
                a.bind(end);
                a.ret();
                a.relax(from);
                if seal {
                    a.seal();
                }
                tables.push((a.labels.len(), a.fixups.len()));
            }
            (hex(&a.finish()), tables)
        };
        let (sealed, sealed_tables) = emit(true);
        let (plain, plain_tables) = emit(false);
        assert_eq!(sealed, plain);
        // Only the shared labels stay, and the call to `g` before it was
        // bound.
        assert_eq!(sealed_tables, [(3, 1), (3, 1)]);
        assert_eq!(plain_tables, [(5, 2), (7, 4)]);
    }

    #[test]
    fn immediates_can_be_patched() {
        let mut asm = Assembler::new();
        let slot = asm.sub_ri32(Rsp, 0);
        asm.patch_i32(slot, 0x120);
        assert_eq!(hex(&asm.finish()), "48 81 EC 20 01 00 00");
    }

    #[test]
    fn every_register_pair_encodes_by_formula() {
        for dst in Reg::ALL {
            for src in Reg::ALL {
                let code = bytes(|a| a.mov_rr(dst, src));
                let rex = 0x48 | ((src.number() >> 3) << 2) | (dst.number() >> 3);
                let modrm = 0xC0 | (src.low() << 3) | dst.low();
                assert_eq!(
                    code,
                    [rex, 0x89, modrm],
                    "mov {}, {}",
                    dst.name(),
                    src.name()
                );
            }
        }
    }

    #[test]
    fn every_base_and_displacement_size() {
        for base in Reg::ALL {
            for disp in [0, 8, -128, 127, 128, -129, i32::MAX] {
                let code = bytes(|a| a.mov_rm(Rcx, Mem::new(base, disp)));
                assert_eq!(code[0], 0x48 | (base.number() >> 3));
                assert_eq!(code[1], 0x8B);
                let needs_sib = base.low() == 4;
                let disp_len = if disp == 0 && base.low() != 5 {
                    0
                } else if (-128..=127).contains(&disp) {
                    1
                } else {
                    4
                };
                let mode = match disp_len {
                    0 => 0,
                    1 => 1,
                    _ => 2,
                };
                assert_eq!(
                    code[2],
                    (mode << 6) | (1 << 3) | base.low(),
                    "{base:?} {disp}"
                );
                let disp_at = if needs_sib {
                    assert_eq!(code[3], 0x24);
                    4
                } else {
                    3
                };
                assert_eq!(code.len(), disp_at + disp_len, "{base:?} {disp}");
                let mut raw = [0u8; 4];
                raw[..disp_len].copy_from_slice(&code[disp_at..]);
                let decoded = match disp_len {
                    0 => 0,
                    1 => raw[0] as i8 as i32,
                    _ => i32::from_le_bytes(raw),
                };
                assert_eq!(decoded, disp);
            }
        }
    }

    #[test]
    fn conditions_invert_in_pairs() {
        assert_eq!(Cond::E.invert(), Cond::Ne);
        assert_eq!(Cond::L.invert(), Cond::Ge);
        assert_eq!(Cond::G.invert(), Cond::Le);
        assert_eq!(Cond::B.invert(), Cond::Ae);
        for cond in Cond::ALL {
            assert_eq!(cond.invert().invert(), cond);
        }
    }
}
