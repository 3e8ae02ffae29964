//! The contract between generated code and the runtime that runs it, in one
//! place: which registers carry what, the record at the base of every JIT
//! stack and its field offsets, the stack's geometry, and the frame limits
//! that make a single compare on function entry enough to catch overflow.
//!
//! Both sides depend on this module and on nothing of each other:
//! `codegen` emits code that follows it, `jit` maps stacks and calls code
//! that follows it. Change a constant here and both sides change with it.
//!
//! # Registers
//!
//! System V for calls between JIT functions, with two changes: arguments
//! past the sixth are popped by the callee (`ret imm16`), which lets a tail
//! call pass a different number of them and still be a jump; and [`CONTEXT`]
//! (`r15`) is reserved for the running stack's [`StackContext`], so the
//! stack check is `cmp rsp, [r15]`.
//!
//! # Entering JIT code
//!
//! Rust (`jit::runtime`, with inline assembly) calls the entry trampoline
//! with the first six arguments already in [`ARG_REGS`], the context's
//! address in [`CONTEXT`], the function's address in [`ENTER_FUNCTION`]
//! and the JIT stack pointer (16-byte aligned, stack arguments stored from
//! it upwards) in [`ENTER_STACK`]. The trampoline saves `rbx` and `rbp`
//! on the Rust stack, stores `rsp` in [`StackContext::saved_rsp`], switches
//! stacks and calls the function; the result comes back in `rax`. A trap
//! returns through the same exit, without running the epilogues of the JIT
//! frames it leaves, so the Rust side treats every caller-saved register
//! and the [`CALLEE_SAVED`] registers other than `rbx` (which Rust's
//! inline assembly cannot declare clobbered, so the trampoline saves it) as
//! clobbered; `r15` comes back unchanged (generated code never writes it).
//!
//! # Direct calls
//!
//! A function with no trap site (`artifact::FuncCode::trap_free`) makes
//! no call, so it has no stack check and no loop (both come only with
//! calls, see "The stack" below), reads nothing through [`CONTEXT`], and
//! cannot leave other than by its own `ret`, which restores every
//! callee-saved register it used. With at most [`REGISTER_ARGS`]
//! parameters, Rust calls such a function like any System V function, on
//! its own stack, without the trampoline or a JIT stack: its frame stays
//! under [`MAX_UNCHECKED_FRAME`] bytes, at most a page, which is what a
//! Rust function may allocate without probing the stack, so on a stack
//! that is nearly full it meets the guard page as a Rust function's frame
//! would. It also finishes in a time
//! bounded by its length, which is why it needs no interrupt check.
//!
//! A function that can trap but has no frame and no trap site other than
//! divisions (`artifact::FuncCode::traps_return`) is called directly too,
//! with [`CONTEXT`] and [`TRAP_KEY`] zero. Its trap stub's `call` reaches
//! the trap exit as on a JIT stack; seeing a zero context, the exit pops
//! the stub's return address (the trap site's key) into [`TRAP_KEY`] and
//! returns: with no frame, the word below it is the return address into
//! Rust. A normal return leaves [`TRAP_KEY`] zero, as a function without
//! a frame saves and touches no callee-saved register.
//!
//! For calls whose number of arguments is known only at run time, each
//! function of at most [`REGISTER_ARGS`] parameters in the library's code
//! is preceded by its argument loader (`artifact::FuncCode::loader`):
//! entered with the arguments' address in [`LOADER_ARGS`], it loads
//! [`ARG_REGS`] from there and falls into the function, touching nothing
//! else and no stack. So it can stand for the function either in a direct
//! call or as the [`ENTER_FUNCTION`] of the entry trampoline, which leaves
//! [`LOADER_ARGS`] as the caller set it.
//!
//! A batch entry (one per arity the program uses) is entered the same way,
//! with the rows' address in `rdi`, their stride in bytes in `rsi`, the
//! output's address in `rdx` and its end in `rcx`. It calls the function
//! once per row in a loop on the JIT stack, storing each result, and
//! before each row checks the limit (only an interrupt fails that check
//! there) and records in [`StackContext::batch_out`] where the row's result
//! goes.
//!
//! # The stack
//!
//! JIT code runs on a stack of [`STACK_SIZE`] bytes aligned to its own size,
//! so code running on it finds the context with `rsp & STACK_BASE_MASK`
//! (the trap exit does this). Every function that makes a call checks `rsp`
//! against [`StackContext::limit`] on entry; the limit lies
//! [`STACK_RESERVE`] bytes above the guard page, and frames of at most
//! [`MAX_UNCHECKED_FRAME`] bytes need no other check.

use std::mem::offset_of;
use std::sync::atomic::AtomicU64;

/// A general-purpose 64-bit register; the discriminant is its hardware
/// number. (The encoder, `codegen::x64`, adds how each is encoded.)
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Reg {
    Rax = 0,
    Rcx,
    Rdx,
    Rbx,
    Rsp,
    Rbp,
    Rsi,
    Rdi,
    R8,
    R9,
    R10,
    R11,
    R12,
    R13,
    R14,
    R15,
}

/// The integer argument registers, in order (System V).
pub const ARG_REGS: [Reg; 6] = [Reg::Rdi, Reg::Rsi, Reg::Rdx, Reg::Rcx, Reg::R8, Reg::R9];

/// How many arguments travel in registers; the rest go on the stack.
pub const REGISTER_ARGS: usize = ARG_REGS.len();

/// How many of `arity` arguments are passed on the stack.
pub const fn stack_arg_count(arity: usize) -> usize {
    arity.saturating_sub(REGISTER_ARGS)
}

/// Callee-saved registers JIT code may use: System V's, minus [`CONTEXT`]
/// (and minus `rbp`, which frames use as their base when they need one).
pub const CALLEE_SAVED: [Reg; 4] = [Reg::Rbx, Reg::R12, Reg::R13, Reg::R14];

/// Holds the address of the running stack's [`StackContext`] in all JIT
/// code: set by the entry trampoline, never written by generated functions.
pub const CONTEXT: Reg = Reg::R15;

/// Where the caller of the entry trampoline puts the address of the JIT
/// function to call.
pub const ENTER_FUNCTION: Reg = Reg::Rax;

/// Where the caller of the entry trampoline puts the JIT stack pointer.
pub const ENTER_STACK: Reg = Reg::R11;

/// Where the caller of an argument loader puts the address of the
/// arguments.
pub const LOADER_ARGS: Reg = Reg::R10;

/// Where a direct call of a function that can trap finds the trap site's
/// key (zero if the function returned): a callee-saved register, which a
/// function without a frame never touches.
pub const TRAP_KEY: Reg = Reg::R12;

/// Size of a JIT stack: enough for well over a million frames of recursion.
/// The memory is reserved, not committed: only touched pages cost.
pub const STACK_SIZE: usize = 1 << 30;

/// `rsp & STACK_BASE_MASK` is the base of the stack `rsp` points into. It
/// fits a sign-extended imm32, so generated code can use `and reg, imm32`.
pub const STACK_BASE_MASK: i32 = -(STACK_SIZE as i64) as i32;

/// Bytes between the stack limit and the guard page. A function that passed
/// its entry check may use this much below the limit before the next check.
pub const STACK_RESERVE: usize = 16 * 1024;

/// The largest frame (saved registers, slots, outgoing arguments, plus
/// [`FRAME_OVERHEAD`]) a function may allocate without checking the limit
/// again. A function that makes no calls has no entry check, so a checked
/// caller's frame and such a callee's frame must fit the reserve together;
/// a quarter of it leaves room for both and for the trap stub's call.
/// Larger frames are checked again right after they are allocated.
pub const MAX_UNCHECKED_FRAME: usize = STACK_RESERVE / 4;

// A checked caller's frame and an unchecked callee's fit the reserve.
const _: () = assert!(2 * MAX_UNCHECKED_FRAME + 2 * FRAME_OVERHEAD <= STACK_RESERVE);

/// Bytes a frame costs beyond what it allocates and pushes: its return
/// address, the saved `rbp`, and the return addresses of a callee and of a
/// trap stub below it, rounded up.
pub const FRAME_OVERHEAD: usize = 64;

/// The record at the base of every JIT stack.
#[repr(C)]
#[derive(Debug, Default)]
pub struct StackContext {
    /// The lowest `rsp` a function may start with. Atomic because an
    /// interrupt raises it to `u64::MAX` from another thread or a signal
    /// handler, which makes the next function entry trap (the one compare
    /// serves both purposes, as in V8).
    pub limit: AtomicU64,
    /// `rsp` inside the entry trampoline, restored by the trap exit.
    pub saved_rsp: u64,
    /// 0 while running; the return address of the trap call after a trap.
    pub trap_pc: u64,
    /// In a batch call: where the current row's result will be stored, so
    /// that after a trap the runtime can tell which row stopped the batch.
    pub batch_out: u64,
}

/// Offset of [`StackContext::limit`], for generated code.
pub const CTX_LIMIT: i32 = offset_of!(StackContext, limit) as i32;
/// Offset of [`StackContext::saved_rsp`], for generated code.
pub const CTX_SAVED_RSP: i32 = offset_of!(StackContext, saved_rsp) as i32;
/// Offset of [`StackContext::trap_pc`], for generated code.
pub const CTX_TRAP_PC: i32 = offset_of!(StackContext, trap_pc) as i32;
/// Offset of [`StackContext::batch_out`], for generated code.
pub const CTX_BATCH_OUT: i32 = offset_of!(StackContext, batch_out) as i32;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stack_mask_finds_the_base_of_an_aligned_stack() {
        let base = 7 * STACK_SIZE as u64;
        let mask = STACK_BASE_MASK as i64 as u64;
        assert_eq!((base + STACK_SIZE as u64 - 8) & mask, base);
        assert_eq!(base & mask, base);
    }

    #[test]
    fn the_context_register_is_never_allocated() {
        assert!(!CALLEE_SAVED.contains(&CONTEXT));
        assert!(!ARG_REGS.contains(&CONTEXT));
    }

    #[test]
    fn traps_clobber_only_what_the_trampoline_does_not_save() {
        // The asm block in `jit::runtime` declares r12-r14 clobbered and
        // the trampoline saves rbx: both must change with this list.
        assert_eq!(CALLEE_SAVED, [Reg::Rbx, Reg::R12, Reg::R13, Reg::R14]);
        for reg in [ENTER_FUNCTION, ENTER_STACK, LOADER_ARGS] {
            assert!(!ARG_REGS.contains(&reg) && reg != CONTEXT, "{reg:?}");
        }
    }
}
