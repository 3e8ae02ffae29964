//! The entry trampoline, which Rust calls to enter JIT code, and the shared
//! trap exit, which every trap stub calls to leave it; the batch loops and
//! the argument loaders, which Rust calls too. Both are emitted once
//! per program, before its functions; their contract with the runtime is in
//! [`crate::abi`].

use crate::abi::{
    ARG_REGS, CONTEXT, CTX_BATCH_OUT, CTX_LIMIT, CTX_SAVED_RSP, CTX_TRAP_PC, ENTER_FUNCTION,
    ENTER_STACK, LOADER_ARGS, REGISTER_ARGS, Reg, STACK_BASE_MASK, TRAP_KEY, stack_arg_count,
};
use crate::artifact::{Cfa, FrameRule, Saved};
use crate::codegen::debug::Recorder;
use crate::codegen::regs::SCRATCH;
use crate::codegen::x64::{Assembler, Cond, Label, Mem};

/// The frame of the trampoline (and of a batch entry) once it has pushed
/// `rbp` and `rbx`: three words above `rsp` on the Rust stack.
const PUSHED: FrameRule = FrameRule::ENTRY
    .with_cfa(Cfa::Rsp(24))
    .with_saved(Reg::Rbp, Saved::AtCfa(-16))
    .with_saved(Reg::Rbx, Saved::AtCfa(-24));

/// The same frame while JIT code runs on its own stack: found through the
/// Rust stack pointer saved in the context record, which `r15` points at
/// in all JIT code. This is what lets a debugger's backtrace go on from
/// JIT frames into the Rust frames that called them.
const SWITCHED: FrameRule = PUSHED.with_cfa(Cfa::Loaded {
    reg: CONTEXT,
    disp: CTX_SAVED_RSP,
    offset: 24,
});

/// Emits the entry trampoline and, binding `trap_exit`, the shared trap
/// exit; returns the trampoline's offset.
///
/// The trampoline is as small as the contract allows
/// ([`crate::abi`], "Entering JIT code"): the caller has already put the
/// arguments in their registers, the context in `r15`, the function in
/// `rax` and the JIT stack pointer in `r11`, and it treats `r12`-`r14` as
/// clobbered; so only `rbx` and `rbp`, which Rust cannot let inline
/// assembly clobber, are saved here, and nothing is loaded from memory.
///
/// With debug info on, `debug` gets the call-frame rows of both (nothing
/// in the code changes).
pub fn emit(asm: &mut Assembler, trap_exit: Label, debug: &mut Recorder) -> usize {
    let enter = asm.offset();
    debug.frame(enter, FrameRule::ENTRY);
    // Saved on the Rust stack, below the return address: a trap returns
    // through `restore` without running the JIT frames' epilogues.
    emit_pushes(asm, debug);
    asm.mov_rr(Reg::Rsp, ENTER_STACK);
    asm.call_r(ENTER_FUNCTION);
    // The callee popped its stack arguments, but a tail call to a function
    // with another number of them leaves `rsp` elsewhere: restore the one
    // saved above.
    asm.mov_rm(Reg::Rsp, Mem::new(CONTEXT, CTX_SAVED_RSP));
    let restore = asm.new_label();
    asm.bind(restore);
    debug.frame(asm.offset(), PUSHED);
    emit_pops(asm, debug);

    // Reached by `call trap_exit` from a stub: the return address on top of
    // the stack identifies the trap site. In a direct call (`CONTEXT` is
    // zero) the function has no frame, so below that address is the
    // return address into Rust: pop the key into `TRAP_KEY` and return
    // there. (Stack moves for call-frame information: `pop` then `ret`.)
    asm.bind(trap_exit);
    debug.frame(asm.offset(), FrameRule::ENTRY);
    let on_jit_stack = asm.new_label();
    asm.test_rr(CONTEXT, CONTEXT);
    asm.jcc(Cond::Ne, on_jit_stack);
    asm.pop_r(TRAP_KEY);
    // As below with `rax`: the stub's return address is in `TRAP_KEY`, and
    // the function's own (into Rust) is on top.
    debug.frame(
        asm.offset(),
        FrameRule {
            return_address: Saved::InReg(TRAP_KEY),
            ..FrameRule::ENTRY
                .with_cfa(Cfa::Rsp(0))
                .with_saved(TRAP_KEY, Saved::Lost)
        },
    );
    asm.ret();
    // On a JIT stack, the context is found from `rsp` alone, which any
    // code running there can do.
    asm.bind(on_jit_stack);
    debug.frame(asm.offset(), FrameRule::ENTRY);
    asm.pop_r(Reg::Rax);
    // The stub's frame is the caller's; its return address is in `rax`.
    debug.frame(
        asm.offset(),
        FrameRule {
            return_address: Saved::InReg(Reg::Rax),
            ..FrameRule::ENTRY.with_cfa(Cfa::Rsp(0))
        },
    );
    emit_context_address(asm, Reg::R11);
    asm.mov_mr(Mem::new(Reg::R11, CTX_TRAP_PC), Reg::Rax);
    asm.mov_rm(Reg::Rsp, Mem::new(Reg::R11, CTX_SAVED_RSP));
    // Back on the Rust stack, in the trampoline's frame: the JIT frames
    // are left behind.
    debug.frame(asm.offset(), PUSHED);
    asm.jmp(restore);
    enter
}

/// Emits the code a function table's slot points at while its function is
/// not defined yet ([`crate::artifact::CodeMap::undefined`]), which turns
/// the call into a trap at its call site; returns its offset.
///
/// A `call` through the table arrives with `r11` zero and the site, its
/// return address, on top of the stack, as a trap stub's call leaves it:
/// the trap exit takes it from there. A tail call's frame is gone, so its
/// jump brings the site in `r11`, pushed here in the return address's
/// place.
pub fn emit_undefined(asm: &mut Assembler, trap_exit: Label, debug: &mut Recorder) -> usize {
    let undefined = asm.offset();
    debug.frame(undefined, FrameRule::ENTRY);
    asm.test_rr(Reg::R11, Reg::R11);
    asm.jcc(Cond::E, trap_exit);
    asm.push_r(Reg::R11);
    // Pushed over the frame that the tail call left: to the trap exit the
    // pushed site is the return address.
    debug.frame(asm.offset(), FrameRule::ENTRY);
    asm.jmp(trap_exit);
    undefined
}

/// The bytes that redirect a replaced function's entry to its
/// function-table slot at `slot` (a REPL session writes them over the old
/// code, which its own entry's callers reach directly):
/// `mov rax, slot; jmp [rax]`. `rax` holds no argument at an entry. They
/// fit in any function: entries are `REDIRECT_ROOM` bytes apart at
/// least.
pub fn redirect(slot: u64) -> Vec<u8> {
    let mut asm = Assembler::new();
    asm.mov_ri(Reg::Rax, slot as i64);
    asm.jmp_m(Mem::new(Reg::Rax, 0));
    let bytes = asm.finish();
    debug_assert!(bytes.len() <= REDIRECT_ROOM);
    bytes
}

/// The room [`redirect`] may take: with a function table, every function
/// starts 16-byte aligned and the code ends aligned too, so each has at
/// least this much before the next or the end.
pub const REDIRECT_ROOM: usize = 16;

/// Pushes `rbp` and `rbx` and saves `rsp` in the context, with the rows
/// that say so.
fn emit_pushes(asm: &mut Assembler, debug: &mut Recorder) {
    asm.push_r(Reg::Rbp);
    let rbp_pushed = FrameRule::ENTRY
        .with_cfa(Cfa::Rsp(16))
        .with_saved(Reg::Rbp, Saved::AtCfa(-16));
    debug.frame(asm.offset(), rbp_pushed);
    asm.push_r(Reg::Rbx);
    debug.frame(asm.offset(), PUSHED);
    asm.mov_mr(Mem::new(CONTEXT, CTX_SAVED_RSP), Reg::Rsp);
    debug.frame(asm.offset(), SWITCHED);
}

/// Pops `rbx` and `rbp` and returns, with the rows that say so.
fn emit_pops(asm: &mut Assembler, debug: &mut Recorder) {
    asm.pop_r(Reg::Rbx);
    let rbx_popped = FrameRule::ENTRY
        .with_cfa(Cfa::Rsp(16))
        .with_saved(Reg::Rbp, Saved::AtCfa(-16));
    debug.frame(asm.offset(), rbx_popped);
    asm.pop_r(Reg::Rbp);
    debug.frame(asm.offset(), FrameRule::ENTRY);
    asm.ret();
}

/// `dst = (rsp - 8) & STACK_BASE_MASK`: the address of the running stack's
/// context. (`rsp` itself may be the stack's top, one past its end, where a
/// batch loop's check traps; the word below it is always inside.)
fn emit_context_address(asm: &mut Assembler, dst: Reg) {
    asm.lea(dst, Mem::new(Reg::Rsp, -8));
    asm.and_ri(dst, STACK_BASE_MASK);
}

/// Emits the argument loader of a function of `arity` (at most
/// [`REGISTER_ARGS`]) parameters, which must follow it at once: the
/// arguments are loaded from the array at [`LOADER_ARGS`] into their
/// registers, and execution falls into the function. No stack moves; the
/// contract is in [`crate::abi`], "Direct calls". Emits nothing for no
/// parameters.
pub fn emit_loader(asm: &mut Assembler, arity: usize) {
    assert!(arity <= REGISTER_ARGS, "a loader fills registers only");
    for (index, &reg) in ARG_REGS.iter().enumerate().take(arity) {
        asm.mov_rm(reg, Mem::new(LOADER_ARGS, 8 * index as i32));
    }
}

/// The size in bytes of [`emit_loader`]'s code for `arity`.
pub fn loader_size(arity: usize) -> usize {
    let mut asm = Assembler::new();
    emit_loader(&mut asm, arity);
    asm.offset()
}

/// A batch entry's code: where it starts and the return address of its
/// interrupt check's trap call.
pub struct BatchCode {
    pub offset: usize,
    pub check_trap: usize,
}

/// Emits the batch entry for functions of `arity` parameters: the loop that
/// calls the function in `ENTER_FUNCTION` once per row (see
/// [`crate::abi`], "Entering JIT code"). The loop's state lives in
/// registers JIT functions preserve, so a row costs its argument loads, the
/// call, the result's store and the checks.
pub fn emit_batch(
    asm: &mut Assembler,
    arity: usize,
    trap_exit: Label,
    debug: &mut Recorder,
) -> BatchCode {
    // Loop state, all preserved by the JIT functions called.
    const ROW: Reg = Reg::Rbx;
    const STRIDE: Reg = Reg::Rbp;
    const OUT: Reg = Reg::R12;
    const OUT_END: Reg = Reg::R13;
    const FUNCTION: Reg = Reg::R14;

    let offset = asm.offset();
    debug.frame(offset, FrameRule::ENTRY);
    emit_pushes(asm, debug);
    asm.mov_rr(Reg::Rsp, ENTER_STACK);
    asm.mov_rr(ROW, ARG_REGS[0]);
    asm.mov_rr(STRIDE, ARG_REGS[1]);
    asm.mov_rr(OUT, ARG_REGS[2]);
    asm.mov_rr(OUT_END, ARG_REGS[3]);
    asm.mov_rr(FUNCTION, ENTER_FUNCTION);
    // Stack arguments are pushed before each call and popped by the callee
    // (`ret imm16`); an odd number of them would leave `rsp` misaligned at
    // the call, so pad once for the whole loop.
    let stack_args = stack_arg_count(arity);
    if stack_args % 2 == 1 {
        asm.sub_ri(Reg::Rsp, 8);
    }
    let done = asm.new_label();
    let interrupted = asm.new_label();
    asm.cmp_rr(OUT, OUT_END);
    asm.jcc(Cond::Ae, done);
    let next_row = asm.new_label();
    asm.bind(next_row);
    // Leaf functions have no entry check, so the loop checks once per row:
    // the stack is near its top here, so only an interrupt, which raises
    // the limit to the top, fails it.
    asm.cmp_rm(Reg::Rsp, Mem::new(CONTEXT, CTX_LIMIT));
    asm.jcc(Cond::B, interrupted);
    // Which row is running, for the error if it traps.
    asm.mov_mr(Mem::new(CONTEXT, CTX_BATCH_OUT), OUT);
    for index in (REGISTER_ARGS..arity).rev() {
        asm.mov_rm(SCRATCH, Mem::new(ROW, 8 * index as i32));
        asm.push_r(SCRATCH);
    }
    for (index, &reg) in ARG_REGS.iter().enumerate().take(arity) {
        asm.mov_rm(reg, Mem::new(ROW, 8 * index as i32));
    }
    asm.call_r(FUNCTION);
    asm.mov_mr(Mem::new(OUT, 0), Reg::Rax);
    asm.add_rr(ROW, STRIDE);
    asm.add_ri(OUT, 8);
    asm.cmp_rr(OUT, OUT_END);
    asm.jcc(Cond::B, next_row);
    asm.bind(done);
    asm.mov_rm(Reg::Rsp, Mem::new(CONTEXT, CTX_SAVED_RSP));
    debug.frame(asm.offset(), PUSHED);
    emit_pops(asm, debug);
    asm.bind(interrupted);
    debug.frame(asm.offset(), SWITCHED);
    asm.call(trap_exit);
    BatchCode {
        offset,
        check_trap: asm.offset(),
    }
}
