//! Cross-checks the encoder against an independent decoder.
//!
//! Every instruction form of [`Assembler`] is emitted over all sixteen
//! registers (every pair for two-register forms), a spread of immediates and
//! every base register with a spread of displacements; `iced-x86` decodes the
//! bytes and the decoded instruction must be exactly the intended one: the
//! mnemonic, each operand (register, immediate value and encoding, memory
//! base/index/scale/displacement and access size, branch target) and a length
//! equal to the bytes emitted, so one instruction and nothing left over.
//! iced only decodes here; it never produces code we run.
//!
//! The expectations are written from the instruction set, not from the
//! encoder: registers map to iced's by name (not by number), and operand
//! order is the Intel order each method's doc promises.

use iced_x86::{
    Decoder, DecoderOptions, Formatter, Instruction, IntelFormatter, MemorySize, Mnemonic, OpKind,
    Register,
};

use super::{Assembler, Cond, Mem, Reg};

/// Immediates for the 32-bit immediate forms: zero, ±1, both edges of the
/// imm8 encoding and of the imm32 range, and a few in between.
const IMM32: [i32; 16] = [
    0,
    1,
    -1,
    2,
    127,
    128,
    -128,
    -129,
    255,
    256,
    0x1234_5678,
    -0x1234_5678,
    0x7FFF_FFFF,
    i32::MAX - 1,
    i32::MIN,
    i32::MIN + 1,
];

/// Values for `mov_ri`, covering each of its three encodings and their
/// edges: `mov r32, imm32` (0 to `u32::MAX`), `mov r/m64, imm32`
/// sign-extended (negative `i32`s) and the 10-byte `movabs`.
const IMM64: [i64; 20] = [
    0,
    1,
    127,
    128,
    0x7FFF_FFFF,
    0x8000_0000,
    0xFFFF_FFFF,
    -1,
    -128,
    -129,
    i32::MIN as i64,
    0x1_0000_0000,
    i32::MIN as i64 - 1,
    0x1122_3344_5566_7788,
    -0x1122_3344_5566_7788,
    0x7FFF_FFFF_0000_0000,
    i64::MAX,
    i64::MIN,
    i64::MIN + 1,
    0xFFFF_FFFF_0000_0000_u64 as i64,
];

/// Memory displacements: none, both edges of disp8 and of disp32.
const DISPS: [i32; 14] = [
    0,
    1,
    -1,
    8,
    -8,
    127,
    -127,
    128,
    -128,
    -129,
    0x1234,
    i32::MAX,
    i32::MIN,
    i32::MIN + 1,
];

/// Shift counts: every count the language can produce (0 to 63) and the
/// byte's edges; the hardware masks the count, the encoder must not.
fn shift_counts() -> impl Iterator<Item = u8> {
    (0..=64).chain([127, 128, 255])
}

/// `(64-bit, 32-bit, 8-bit)` iced names of `reg`, by name rather than by
/// number so that a mix-up in [`Reg`]'s numbering would show.
fn iced(reg: Reg) -> (Register, Register, Register) {
    use Register as I;
    match reg {
        Reg::Rax => (I::RAX, I::EAX, I::AL),
        Reg::Rcx => (I::RCX, I::ECX, I::CL),
        Reg::Rdx => (I::RDX, I::EDX, I::DL),
        Reg::Rbx => (I::RBX, I::EBX, I::BL),
        Reg::Rsp => (I::RSP, I::ESP, I::SPL),
        Reg::Rbp => (I::RBP, I::EBP, I::BPL),
        Reg::Rsi => (I::RSI, I::ESI, I::SIL),
        Reg::Rdi => (I::RDI, I::EDI, I::DIL),
        Reg::R8 => (I::R8, I::R8D, I::R8L),
        Reg::R9 => (I::R9, I::R9D, I::R9L),
        Reg::R10 => (I::R10, I::R10D, I::R10L),
        Reg::R11 => (I::R11, I::R11D, I::R11L),
        Reg::R12 => (I::R12, I::R12D, I::R12L),
        Reg::R13 => (I::R13, I::R13D, I::R13L),
        Reg::R14 => (I::R14, I::R14D, I::R14L),
        Reg::R15 => (I::R15, I::R15D, I::R15L),
    }
}

fn r64(reg: Reg) -> Operand {
    Operand::Reg(iced(reg).0)
}

fn r32(reg: Reg) -> Operand {
    Operand::Reg(iced(reg).1)
}

fn r8(reg: Reg) -> Operand {
    Operand::Reg(iced(reg).2)
}

/// The mnemonics of `jcc`, `setcc` and `cmovcc` for `cond`.
fn cond_mnemonics(cond: Cond) -> (Mnemonic, Mnemonic, Mnemonic) {
    use Mnemonic as M;
    match cond {
        Cond::O => (M::Jo, M::Seto, M::Cmovo),
        Cond::No => (M::Jno, M::Setno, M::Cmovno),
        Cond::B => (M::Jb, M::Setb, M::Cmovb),
        Cond::Ae => (M::Jae, M::Setae, M::Cmovae),
        Cond::E => (M::Je, M::Sete, M::Cmove),
        Cond::Ne => (M::Jne, M::Setne, M::Cmovne),
        Cond::Be => (M::Jbe, M::Setbe, M::Cmovbe),
        Cond::A => (M::Ja, M::Seta, M::Cmova),
        Cond::S => (M::Js, M::Sets, M::Cmovs),
        Cond::Ns => (M::Jns, M::Setns, M::Cmovns),
        Cond::P => (M::Jp, M::Setp, M::Cmovp),
        Cond::Np => (M::Jnp, M::Setnp, M::Cmovnp),
        Cond::L => (M::Jl, M::Setl, M::Cmovl),
        Cond::Ge => (M::Jge, M::Setge, M::Cmovge),
        Cond::Le => (M::Jle, M::Setle, M::Cmovle),
        Cond::G => (M::Jg, M::Setg, M::Cmovg),
    }
}

/// One operand of the intended instruction.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Operand {
    Reg(Register),
    /// An immediate: how it is encoded (which also fixes how it extends)
    /// and its value after that extension.
    Imm(OpKind, u64),
    /// `[base + disp]` accessing `size` (`Unknown` for `lea`, which does not
    /// access memory).
    Mem {
        base: Reg,
        disp: i32,
        size: MemorySize,
    },
    /// A relative branch to this offset (the code is decoded at address 0).
    Branch(u64),
}

/// A 64-bit immediate from a sign-extended imm8 when the value fits, else
/// from a sign-extended imm32: the shortest form, which the encoder's
/// immediate forms promise.
fn simm(value: i32) -> Operand {
    let kind = if i8::try_from(value).is_ok() {
        OpKind::Immediate8to64
    } else {
        OpKind::Immediate32to64
    };
    Operand::Imm(kind, i64::from(value) as u64)
}

fn mem(base: Reg, disp: i32) -> Operand {
    Operand::Mem {
        base,
        disp,
        size: MemorySize::UInt64,
    }
}

/// The displacement size the shortest encoding of `[base + disp]` has, as
/// iced reports it: none for zero (except with `rbp`/`r13`, whose
/// no-displacement encoding means RIP-relative, so they carry a zero byte),
/// one byte if it fits, else four bytes, which iced reports as 8 because in
/// 64-bit addressing a disp32 is sign-extended to 64 bits.
fn shortest_displacement(base: Reg, disp: i32) -> u32 {
    let needs_displacement = matches!(base, Reg::Rbp | Reg::R13);
    if disp == 0 && !needs_displacement {
        0
    } else if i8::try_from(disp).is_ok() {
        1
    } else {
        8
    }
}

fn emit(build: impl FnOnce(&mut Assembler)) -> Vec<u8> {
    let mut asm = Assembler::new();
    build(&mut asm);
    asm.finish()
}

/// Decodes `code` at address `ip` (for messages: the decoded text and bytes).
fn describe(code: &[u8], ip: u64) -> String {
    let mut decoder = Decoder::with_ip(64, code, ip, DecoderOptions::NONE);
    let mut formatter = IntelFormatter::new();
    let mut text = String::new();
    while decoder.can_decode() {
        let instruction = decoder.decode();
        formatter.format(&instruction, &mut text);
        text.push_str("; ");
    }
    format!("{code:02X?} decodes as `{text}`")
}

/// Decodes `code` (placed at address `ip`) and checks that it is exactly one
/// instruction `mnemonic operands...` with no prefixes beyond REX.
#[track_caller]
fn check_at(what: &str, code: &[u8], ip: u64, mnemonic: Mnemonic, operands: &[Operand]) {
    let context = || format!("{what}: {}", describe(code, ip));
    let mut decoder = Decoder::with_ip(64, code, ip, DecoderOptions::NONE);
    let instruction: Instruction = decoder.decode();
    assert!(
        !instruction.is_invalid(),
        "{}: invalid instruction ({:?})",
        context(),
        decoder.last_error()
    );
    assert_eq!(
        instruction.len(),
        code.len(),
        "{}: one instruction must use every byte emitted",
        context()
    );
    assert_eq!(instruction.mnemonic(), mnemonic, "{}", context());
    assert!(
        !instruction.has_lock_prefix()
            && !instruction.has_rep_prefix()
            && !instruction.has_repne_prefix()
            && !instruction.has_segment_prefix(),
        "{}: unexpected prefix",
        context()
    );
    assert_eq!(
        instruction.op_count() as usize,
        operands.len(),
        "{}: operand count",
        context()
    );
    for (index, expected) in operands.iter().enumerate() {
        let index = index as u32;
        let kind = instruction.op_kind(index);
        let actual = match *expected {
            Operand::Reg(_) => {
                assert_eq!(kind, OpKind::Register, "{}: operand {index}", context());
                Operand::Reg(instruction.op_register(index))
            }
            Operand::Imm(..) => Operand::Imm(kind, instruction.immediate(index)),
            Operand::Mem { base, disp, .. } => {
                assert_eq!(kind, OpKind::Memory, "{}: operand {index}", context());
                assert_eq!(
                    instruction.memory_index(),
                    Register::None,
                    "{}: no index register",
                    context()
                );
                assert_eq!(instruction.memory_index_scale(), 1, "{}", context());
                assert!(!instruction.is_ip_rel_memory_operand(), "{}", context());
                assert_eq!(
                    instruction.memory_displ_size(),
                    shortest_displacement(base, disp),
                    "{}: displacement size",
                    context()
                );
                let base = Reg::ALL
                    .into_iter()
                    .find(|&reg| iced(reg).0 == instruction.memory_base())
                    .unwrap_or_else(|| panic!("{}: base is not a 64-bit register", context()));
                Operand::Mem {
                    base,
                    disp: i32::try_from(instruction.memory_displacement64() as i64)
                        .unwrap_or_else(|_| panic!("{}: displacement", context())),
                    size: instruction.memory_size(),
                }
            }
            Operand::Branch(_) => {
                assert_eq!(kind, OpKind::NearBranch64, "{}: operand {index}", context());
                Operand::Branch(instruction.near_branch_target())
            }
        };
        assert_eq!(actual, *expected, "{}: operand {index}", context());
    }
}

#[track_caller]
fn check(what: &str, code: &[u8], mnemonic: Mnemonic, operands: &[Operand]) {
    check_at(what, code, 0, mnemonic, operands);
}

/// Counts the cases each test checks (shown with `--nocapture`), and makes
/// sure a test cannot pass by checking nothing.
struct Tally(&'static str, usize);

impl Tally {
    fn add(&mut self, cases: usize) {
        self.1 += cases;
    }
}

impl Drop for Tally {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            assert!(self.1 > 0, "{}: checked nothing", self.0);
            println!("{}: {} cases", self.0, self.1);
        }
    }
}

/// The three forms (`op r, r`, `op r, imm`, `op r, [m]`) of each group-1
/// ALU instruction.
type AluForms = (
    &'static str,
    Mnemonic,
    fn(&mut Assembler, Reg, Reg),
    fn(&mut Assembler, Reg, i32),
    fn(&mut Assembler, Reg, Mem),
);

const ALU: [AluForms; 6] = [
    (
        "add",
        Mnemonic::Add,
        Assembler::add_rr,
        Assembler::add_ri,
        Assembler::add_rm,
    ),
    (
        "sub",
        Mnemonic::Sub,
        Assembler::sub_rr,
        Assembler::sub_ri,
        Assembler::sub_rm,
    ),
    (
        "and",
        Mnemonic::And,
        Assembler::and_rr,
        Assembler::and_ri,
        Assembler::and_rm,
    ),
    (
        "or",
        Mnemonic::Or,
        Assembler::or_rr,
        Assembler::or_ri,
        Assembler::or_rm,
    ),
    (
        "xor",
        Mnemonic::Xor,
        Assembler::xor_rr,
        Assembler::xor_ri,
        Assembler::xor_rm,
    ),
    (
        "cmp",
        Mnemonic::Cmp,
        Assembler::cmp_rr,
        Assembler::cmp_ri,
        Assembler::cmp_rm,
    ),
];

#[test]
fn register_to_register_forms() {
    let mut tally = Tally("register-register forms", 0);
    type RrForm = (&'static str, Mnemonic, fn(&mut Assembler, Reg, Reg));
    let mut forms: Vec<RrForm> = vec![
        ("mov_rr", Mnemonic::Mov, Assembler::mov_rr),
        ("test_rr", Mnemonic::Test, Assembler::test_rr),
        ("imul_rr", Mnemonic::Imul, Assembler::imul_rr),
        ("xchg_rr", Mnemonic::Xchg, Assembler::xchg_rr),
    ];
    forms.extend(
        ALU.iter()
            .map(|&(name, mnemonic, rr, _, _)| (name, mnemonic, rr)),
    );
    for (name, mnemonic, form) in forms {
        for a in Reg::ALL {
            for b in Reg::ALL {
                let code = emit(|asm| form(asm, a, b));
                check(
                    &format!("{name}({a:?}, {b:?})"),
                    &code,
                    mnemonic,
                    &[r64(a), r64(b)],
                );
                tally.add(1);
            }
        }
    }
}

#[test]
fn register_immediate_forms() {
    let mut tally = Tally("register-immediate forms", 0);
    for (name, mnemonic, _, ri, _) in ALU {
        for reg in Reg::ALL {
            for imm in IMM32 {
                let code = emit(|asm| ri(asm, reg, imm));
                check(
                    &format!("{name}_ri({reg:?}, {imm})"),
                    &code,
                    mnemonic,
                    &[r64(reg), simm(imm)],
                );
                tally.add(1);
            }
        }
    }
    // `test r, imm32` has no imm8 form: always the sign-extended imm32.
    for reg in Reg::ALL {
        for imm in IMM32 {
            let code = emit(|asm| asm.test_ri(reg, imm));
            check(
                &format!("test_ri({reg:?}, {imm})"),
                &code,
                Mnemonic::Test,
                &[
                    r64(reg),
                    Operand::Imm(OpKind::Immediate32to64, i64::from(imm) as u64),
                ],
            );
            tally.add(1);
        }
    }
    for dst in Reg::ALL {
        for src in Reg::ALL {
            for imm in IMM32 {
                let code = emit(|asm| asm.imul_rri(dst, src, imm));
                check(
                    &format!("imul_rri({dst:?}, {src:?}, {imm})"),
                    &code,
                    Mnemonic::Imul,
                    &[r64(dst), r64(src), simm(imm)],
                );
                tally.add(1);
            }
        }
    }
}

#[test]
fn add_sub_ri32_are_always_imm32_and_their_slots_patch_the_immediate() {
    let mut tally = Tally("add_ri32/sub_ri32 and patch_i32", 0);
    type Form = (
        &'static str,
        Mnemonic,
        fn(&mut Assembler, Reg, i32) -> super::ImmSlot,
    );
    let forms: [Form; 2] = [
        ("add_ri32", Mnemonic::Add, Assembler::add_ri32),
        ("sub_ri32", Mnemonic::Sub, Assembler::sub_ri32),
    ];
    for (name, mnemonic, form) in forms {
        for reg in Reg::ALL {
            for imm in IMM32 {
                let imm32 = Operand::Imm(OpKind::Immediate32to64, i64::from(imm) as u64);
                let code = emit(|asm| {
                    form(asm, reg, imm);
                });
                let what = format!("{name}({reg:?}, {imm})");
                check(&what, &code, mnemonic, &[r64(reg), imm32]);

                // Emitted as a placeholder after other code, then patched: only
                // the immediate may change.
                let mut asm = Assembler::new();
                asm.ret();
                let at = asm.offset();
                let slot = form(&mut asm, reg, 0x5A5A_5A5A);
                let end = asm.offset();
                asm.ret();
                asm.patch_i32(slot, imm);
                let code = asm.finish();
                let what = format!("{name}({reg:?}, placeholder) patched to {imm}");
                check_at(
                    &what,
                    &code[at..end],
                    at as u64,
                    mnemonic,
                    &[r64(reg), imm32],
                );
                assert_eq!(
                    (code[0], code[end]),
                    (0xC3, 0xC3),
                    "{what}: neighbours untouched"
                );
                tally.add(2);
            }
        }
    }
}

#[test]
fn mov_immediate_uses_each_encoding() {
    let mut tally = Tally("mov_ri", 0);
    for reg in Reg::ALL {
        for imm in IMM64 {
            let code = emit(|asm| asm.mov_ri(reg, imm));
            // The doc promises the shortest form. A 32-bit destination
            // zero-extends into the whole register, so it loads exactly `imm`.
            let operands = if u32::try_from(imm).is_ok() {
                [r32(reg), Operand::Imm(OpKind::Immediate32, imm as u64)]
            } else if i32::try_from(imm).is_ok() {
                [r64(reg), Operand::Imm(OpKind::Immediate32to64, imm as u64)]
            } else {
                [r64(reg), Operand::Imm(OpKind::Immediate64, imm as u64)]
            };
            check(
                &format!("mov_ri({reg:?}, {imm:#x})"),
                &code,
                Mnemonic::Mov,
                &operands,
            );
            tally.add(1);
        }
    }
}

#[test]
fn memory_forms_over_every_base_and_displacement() {
    let mut tally = Tally("memory forms", 0);
    type RmForm = (&'static str, Mnemonic, fn(&mut Assembler, Reg, Mem));
    let mut loads: Vec<RmForm> = vec![
        ("mov_rm", Mnemonic::Mov, Assembler::mov_rm),
        ("imul_rm", Mnemonic::Imul, Assembler::imul_rm),
    ];
    loads.extend(
        ALU.iter()
            .map(|&(name, mnemonic, _, _, rm)| (name, mnemonic, rm)),
    );
    for reg in Reg::ALL {
        for base in Reg::ALL {
            for disp in DISPS {
                let at = Mem::new(base, disp);
                for &(name, mnemonic, form) in &loads {
                    let code = emit(|asm| form(asm, reg, at));
                    // iced classifies the multiply's memory operand as signed.
                    let size = if mnemonic == Mnemonic::Imul {
                        MemorySize::Int64
                    } else {
                        MemorySize::UInt64
                    };
                    check(
                        &format!("{name}({reg:?}, {at:?})"),
                        &code,
                        mnemonic,
                        &[r64(reg), Operand::Mem { base, disp, size }],
                    );
                }
                let code = emit(|asm| asm.mov_mr(at, reg));
                check(
                    &format!("mov_mr({at:?}, {reg:?})"),
                    &code,
                    Mnemonic::Mov,
                    &[mem(base, disp), r64(reg)],
                );
                // The exchange is symmetric; iced names the memory first.
                let code = emit(|asm| asm.xchg_rm(reg, at));
                check(
                    &format!("xchg_rm({reg:?}, {at:?})"),
                    &code,
                    Mnemonic::Xchg,
                    &[mem(base, disp), r64(reg)],
                );
                let code = emit(|asm| asm.lea(reg, at));
                let address = Operand::Mem {
                    base,
                    disp,
                    size: MemorySize::Unknown,
                };
                check(
                    &format!("lea({reg:?}, {at:?})"),
                    &code,
                    Mnemonic::Lea,
                    &[r64(reg), address],
                );
                tally.add(loads.len() + 3);
            }
        }
    }
    // `mov qword [m], imm32` has no register operand: every base and
    // displacement, every immediate (always imm32, sign-extended).
    for base in Reg::ALL {
        for disp in DISPS {
            let at = Mem::new(base, disp);
            for imm in IMM32 {
                let code = emit(|asm| asm.mov_mi(at, imm));
                check(
                    &format!("mov_mi({at:?}, {imm})"),
                    &code,
                    Mnemonic::Mov,
                    &[
                        mem(base, disp),
                        Operand::Imm(OpKind::Immediate32to64, i64::from(imm) as u64),
                    ],
                );
                tally.add(1);
            }
        }
    }
}

#[test]
fn indirect_calls_and_jumps_through_memory() {
    let mut tally = Tally("indirect calls and jumps", 0);
    type MForm = (&'static str, Mnemonic, fn(&mut Assembler, Mem));
    let forms: [MForm; 2] = [
        ("call_m", Mnemonic::Call, Assembler::call_m),
        ("jmp_m", Mnemonic::Jmp, Assembler::jmp_m),
    ];
    for (name, mnemonic, form) in forms {
        for base in Reg::ALL {
            for disp in DISPS {
                let at = Mem::new(base, disp);
                let code = emit(|asm| form(asm, at));
                // iced sizes the operand of a near indirect branch as a
                // 64-bit code address.
                let target = Operand::Mem {
                    base,
                    disp,
                    size: MemorySize::QwordOffset,
                };
                check(&format!("{name}({at:?})"), &code, mnemonic, &[target]);
                tally.add(1);
            }
        }
    }
    // `lea r, [rip + disp]`: iced gives the absolute target for an
    // instruction at address 0, the displacement plus its 7 bytes.
    for reg in Reg::ALL {
        for disp in [0, 2, -7, 0x1234, i32::MIN + 7] {
            let code = emit(|asm| asm.lea_rip(reg, disp));
            let mut decoder = Decoder::with_ip(64, &code, 0, DecoderOptions::NONE);
            let instruction = decoder.decode();
            assert_eq!(instruction.mnemonic(), Mnemonic::Lea, "lea_rip({reg:?}, {disp})");
            assert_eq!(instruction.len(), code.len(), "lea_rip({reg:?}, {disp})");
            assert!(instruction.is_ip_rel_memory_operand());
            assert_eq!(instruction.op0_register(), iced(reg).0);
            assert_eq!(
                instruction.ip_rel_memory_address(),
                (i64::from(disp) + 7) as u64,
                "lea_rip({reg:?}, {disp})"
            );
            tally.add(1);
        }
    }
}

#[test]
fn single_register_forms() {
    let mut tally = Tally("single-register forms", 0);
    type RForm = (&'static str, Mnemonic, fn(&mut Assembler, Reg));
    let forms: [RForm; 8] = [
        ("neg_r", Mnemonic::Neg, Assembler::neg_r),
        ("imul_wide_r", Mnemonic::Imul, Assembler::imul_wide_r),
        ("not_r", Mnemonic::Not, Assembler::not_r),
        ("idiv_r", Mnemonic::Idiv, Assembler::idiv_r),
        ("push_r", Mnemonic::Push, Assembler::push_r),
        ("pop_r", Mnemonic::Pop, Assembler::pop_r),
        ("call_r", Mnemonic::Call, Assembler::call_r),
        ("jmp_r", Mnemonic::Jmp, Assembler::jmp_r),
    ];
    for (name, mnemonic, form) in forms {
        for reg in Reg::ALL {
            let code = emit(|asm| form(asm, reg));
            check(&format!("{name}({reg:?})"), &code, mnemonic, &[r64(reg)]);
            tally.add(1);
        }
    }
    // The 32-bit unsigned division names the 32-bit register.
    for reg in Reg::ALL {
        let code = emit(|asm| asm.div_r32(reg));
        check(
            &format!("div_r32({reg:?})"),
            &code,
            Mnemonic::Div,
            &[r32(reg)],
        );
        tally.add(1);
    }
}

#[test]
fn shifts_by_immediate_and_by_cl() {
    let mut tally = Tally("shifts", 0);
    type Shift = (
        &'static str,
        Mnemonic,
        fn(&mut Assembler, Reg, u8),
        Option<fn(&mut Assembler, Reg)>,
    );
    // (No `shr r, cl`: the language's `>>` is arithmetic.)
    let shifts: [Shift; 3] = [
        (
            "shl",
            Mnemonic::Shl,
            Assembler::shl_ri,
            Some(Assembler::shl_rcl),
        ),
        (
            "sar",
            Mnemonic::Sar,
            Assembler::sar_ri,
            Some(Assembler::sar_rcl),
        ),
        ("shr", Mnemonic::Shr, Assembler::shr_ri, None),
    ];
    for (name, mnemonic, by_imm, by_cl) in shifts {
        for reg in Reg::ALL {
            for count in shift_counts() {
                let code = emit(|asm| by_imm(asm, reg, count));
                let count_operand = Operand::Imm(OpKind::Immediate8, u64::from(count));
                check(
                    &format!("{name}_ri({reg:?}, {count})"),
                    &code,
                    mnemonic,
                    &[r64(reg), count_operand],
                );
                tally.add(1);
            }
            let Some(by_cl) = by_cl else { continue };
            let code = emit(|asm| by_cl(asm, reg));
            check(
                &format!("{name}_rcl({reg:?})"),
                &code,
                mnemonic,
                &[r64(reg), Operand::Reg(Register::CL)],
            );
            tally.add(1);
        }
    }
}

#[test]
fn byte_register_forms() {
    let mut tally = Tally("setcc/movzx/cmovcc", 0);
    for cond in Cond::ALL {
        let (_, set, cmov) = cond_mnemonics(cond);
        for dst in Reg::ALL {
            // Without a REX prefix, byte registers 4 to 7 would be ah..bh.
            let code = emit(|asm| asm.setcc(cond, dst));
            check(&format!("setcc({cond:?}, {dst:?})"), &code, set, &[r8(dst)]);
            tally.add(1);
            for src in Reg::ALL {
                let code = emit(|asm| asm.cmovcc(cond, dst, src));
                check(
                    &format!("cmovcc({cond:?}, {dst:?}, {src:?})"),
                    &code,
                    cmov,
                    &[r64(dst), r64(src)],
                );
                tally.add(1);
            }
        }
    }
    for dst in Reg::ALL {
        for src in Reg::ALL {
            // A 32-bit destination: the upper half is zeroed as well.
            let code = emit(|asm| asm.movzx_r8(dst, src));
            check(
                &format!("movzx_r8({dst:?}, {src:?})"),
                &code,
                Mnemonic::Movzx,
                &[r32(dst), r8(src)],
            );
            // A 32-bit move zero-extends the same way.
            let code = emit(|asm| asm.mov_r32(dst, src));
            check(
                &format!("mov_r32({dst:?}, {src:?})"),
                &code,
                Mnemonic::Mov,
                &[r32(dst), r32(src)],
            );
            tally.add(2);
        }
    }
}

#[test]
fn zeroing_and_returns_popping_arguments() {
    let mut tally = Tally("zero_r/ret_pop", 0);
    for reg in Reg::ALL {
        let code = emit(|asm| asm.zero_r(reg));
        check(
            &format!("zero_r({reg:?})"),
            &code,
            Mnemonic::Xor,
            &[r32(reg), r32(reg)],
        );
        tally.add(1);
    }
    check(
        "ret_pop(0)",
        &emit(|asm| asm.ret_pop(0)),
        Mnemonic::Ret,
        &[],
    );
    for bytes in [8u16, 16, 48, 0x7FF8, 0xFFF8] {
        let code = emit(|asm| asm.ret_pop(bytes));
        let operand = Operand::Imm(OpKind::Immediate16, u64::from(bytes));
        check(
            &format!("ret_pop({bytes})"),
            &code,
            Mnemonic::Ret,
            &[operand],
        );
        tally.add(1);
    }
}

#[test]
fn operandless_forms() {
    let mut tally = Tally("operandless forms", 0);
    type Bare = (&'static str, Mnemonic, fn(&mut Assembler));
    let forms: [Bare; 2] = [
        ("cqo", Mnemonic::Cqo, Assembler::cqo),
        ("ret", Mnemonic::Ret, Assembler::ret),
    ];
    for (name, mnemonic, form) in forms {
        check(name, &emit(form), mnemonic, &[]);
        tally.add(1);
    }
}

#[test]
fn alignment_pads_with_int3() {
    for before in 0..40usize {
        let mut asm = Assembler::new();
        for _ in 0..before {
            asm.ret();
        }
        asm.align_with_int3(16);
        let code = asm.finish();
        assert_eq!(code.len(), before.next_multiple_of(16));
        for (offset, &byte) in code.iter().enumerate().skip(before) {
            check(&format!("padding at {offset}"), &[byte], Mnemonic::Int3, &[]);
        }
    }
    for bytes in 0..20usize {
        let mut asm = Assembler::new();
        asm.ret();
        asm.pad_with_int3(bytes);
        let code = asm.finish();
        assert_eq!(code.len(), 1 + bytes);
        for (offset, &byte) in code.iter().enumerate().skip(1) {
            check(&format!("padding at {offset}"), &[byte], Mnemonic::Int3, &[]);
        }
    }
}

/// Branches to labels bound before and after the branch, at distances around
/// the rel8 edge (the encoder always uses rel32, and must get it right on
/// both sides of it) and beyond 64 KiB, including a branch to itself and to
/// the very next instruction.
#[test]
fn branches_to_labels_at_every_distance() {
    let mut tally = Tally("jmp/jcc/call to labels", 0);
    type Branch = (String, Mnemonic, Box<dyn Fn(&mut Assembler, super::Label)>);
    let mut branches: Vec<Branch> = vec![
        ("jmp".into(), Mnemonic::Jmp, Box::new(Assembler::jmp)),
        ("call".into(), Mnemonic::Call, Box::new(Assembler::call)),
    ];
    for cond in Cond::ALL {
        branches.push((
            format!("jcc({cond:?})"),
            cond_mnemonics(cond).0,
            Box::new(move |asm: &mut Assembler, label| asm.jcc(cond, label)),
        ));
    }
    let gaps = [
        0usize, 1, 2, 120, 121, 122, 123, 125, 126, 127, 128, 129, 130, 70_000,
    ];
    for (name, mnemonic, branch) in &branches {
        for gap in gaps {
            // backward: label, `gap` bytes, branch; forward: branch, `gap`
            // bytes, label.
            for backward in [true, false] {
                let mut asm = Assembler::new();
                let label = asm.new_label();
                asm.ret();
                if backward {
                    asm.bind(label);
                }
                (0..gap).for_each(|_| asm.ret());
                let at = asm.offset();
                branch(&mut asm, label);
                let end = asm.offset();
                (0..gap).for_each(|_| asm.ret());
                if !backward {
                    asm.bind(label);
                }
                asm.ret();
                let target = asm.label_offset(label).expect("bound");
                let code = asm.finish();
                let direction = if backward { "back" } else { "forward" };
                check_at(
                    &format!("{name} {direction} over {gap} bytes"),
                    &code[at..end],
                    at as u64,
                    *mnemonic,
                    &[Operand::Branch(target as u64)],
                );
                tally.add(1);
            }
        }
    }
}

/// Code emitted in parts: the jumps to labels bound elsewhere come back
/// unresolved, and filled in once their targets are placed, they are the
/// bytes one assembler gives.
#[test]
fn finishing_with_labels_bound_elsewhere() {
    let mut whole = Assembler::new();
    let (early, late) = (whole.new_label(), whole.new_label());
    whole.bind(early);
    whole.ret();
    whole.align_with_int3(16);
    whole.call(late);
    whole.jmp(early);
    whole.bind(late);
    whole.ret();
    let whole = whole.finish();

    let mut part = Assembler::new();
    let (early_in_part, late_in_part) = (part.new_label(), part.new_label());
    part.call(late_in_part);
    part.jmp(early_in_part);
    part.bind(late_in_part);
    part.ret();
    let (mut code, unresolved) = part.finish_bound();
    assert_eq!(unresolved.len(), 1);
    let (at, label) = unresolved[0];
    assert_eq!(label, early_in_part);
    let mut joined = vec![0xC3];
    joined.resize(16, 0xCC);
    joined.append(&mut code);
    crate::codegen::x64::write_rel32(&mut joined, 16 + at as usize, 0);
    assert_eq!(joined, whole);
}

/// Every public method of [`Assembler`] that emits code must be exercised
/// above: a new instruction form fails here until it is cross-checked.
#[test]
fn every_emitting_method_is_cross_checked() {
    /// The methods that manage labels and the buffer rather than emit.
    const NOT_EMITTING: [&str; 13] = [
        "new",
        "share_labels",
        "seal",
        "finish_bound",
        "truncate",
        "relax",
        "drop_instruction",
        "offset",
        "new_label",
        "bind",
        "label_offset",
        "finish",
        "patch_i32",
    ];
    let encoder = include_str!("x64.rs");
    let this_file = include_str!("x64_decode_tests.rs");
    let start = encoder.find("\nimpl Assembler {").expect("impl Assembler");
    let body = &encoder[start..];
    let body = &body[..body.find("\n}\n").expect("end of impl Assembler")];
    let mut methods = 0;
    for line in body.lines() {
        let Some(rest) = line.trim().strip_prefix("pub fn ") else {
            continue;
        };
        let name = rest.split(['(', '<']).next().unwrap_or_default();
        if NOT_EMITTING.contains(&name) {
            continue;
        }
        methods += 1;
        let used = this_file.contains(&format!("Assembler::{name}"))
            || this_file.contains(&format!("asm.{name}("));
        assert!(used, "Assembler::{name} is not cross-checked");
    }
    assert!(methods >= 40, "found only {methods} emitting methods");
    println!("{methods} emitting methods are cross-checked");
}

/// Relaxation: a function's jumps to its own labels, at distances around
/// the rel8 edge in both directions, take the short form exactly when it
/// reaches; a jump to the next instruction and a dead `add rsp, 0`
/// disappear; code before the function, jumps out of it and calls into
/// the code before it keep their targets. Every instruction decodes and
/// every branch lands where its label now is.
#[test]
fn relaxation_shortens_jumps_inside_a_function_and_keeps_every_target() {
    let mut tally = Tally("relaxed jmp/jcc", 0);
    let gaps = [
        0usize, 1, 60, 118, 119, 120, 121, 122, 123, 124, 125, 126, 127, 128, 129, 200,
    ];
    let kinds: Vec<Option<Cond>> = std::iter::once(None).chain(Cond::ALL.map(Some)).collect();
    for &kind in &kinds {
        for gap in gaps {
            for backward in [true, false] {
                let mut asm = Assembler::new();
                // Code before the function: a target for a call from it.
                let earlier = asm.new_label();
                asm.bind(earlier);
                asm.ret();
                let outside = asm.new_label();
                let from = asm.offset();
                let label = asm.new_label();
                let next = asm.new_label();
                if backward {
                    asm.bind(label);
                }
                (0..gap).for_each(|_| asm.ret());
                let branch = |asm: &mut Assembler| match kind {
                    None => asm.jmp(label),
                    Some(cond) => asm.jcc(cond, label),
                };
                branch(&mut asm);
                // A jump to the very next instruction, then a dead one.
                asm.jmp(next);
                asm.bind(next);
                let slot = asm.add_ri32(Reg::Rsp, 0);
                asm.drop_instruction(slot);
                asm.call(earlier);
                asm.jmp(outside);
                (0..gap).for_each(|_| asm.ret());
                if !backward {
                    asm.bind(label);
                }
                asm.ret();
                let end_before = asm.offset();
                let moved = asm.relax(from).clone();
                asm.bind(outside);
                asm.ret();
                let target = asm.label_offset(label).expect("bound");
                let earlier_at = asm.label_offset(earlier).expect("bound");
                let outside_at = asm.label_offset(outside).expect("bound");
                let code = asm.finish();
                // The branch: short exactly when the displacement fits.
                let at = moved.map(from + gap);
                let rel8 = i8::try_from(target as i64 - (at as i64 + 2)).is_ok();
                let len = if rel8 {
                    2
                } else if kind.is_none() {
                    5
                } else {
                    6
                };
                let mnemonic = kind.map_or(Mnemonic::Jmp, |cond| cond_mnemonics(cond).0);
                let name = format!(
                    "{kind:?} {} over {gap}",
                    if backward { "back" } else { "forward" }
                );
                check_at(
                    &name,
                    &code[at..at + len],
                    at as u64,
                    mnemonic,
                    &[Operand::Branch(target as u64)],
                );
                // The jump to the next instruction and the dead `add` are
                // gone: the call follows at once.
                let call = at + len;
                check_at(
                    &name,
                    &code[call..call + 5],
                    call as u64,
                    Mnemonic::Call,
                    &[Operand::Branch(earlier_at as u64)],
                );
                let jump_out = call + 5;
                check_at(
                    &name,
                    &code[jump_out..jump_out + 5],
                    jump_out as u64,
                    Mnemonic::Jmp,
                    &[Operand::Branch(outside_at as u64)],
                );
                let long = if kind.is_none() { 5 } else { 6 };
                assert_eq!(
                    end_before - (long - len + 5 + 7),
                    outside_at,
                    "{name}: bytes removed"
                );
                tally.add(1);
            }
        }
    }
}
