//! The entry trampoline, which Rust calls to enter JIT code, and the shared
//! trap exit, which every trap stub calls to leave it. Both are emitted once
//! per program, before its functions; their contract with the runtime is in
//! [`crate::abi`] and `jit::runtime`'s `EnterFn`.

use crate::abi::{
    ARG_REGS, CONTEXT, CTX_SAVED_RSP, CTX_TRAP_PC, PRESERVED_FOR_RUST, Reg, STACK_BASE_MASK,
};
use crate::codegen::x64::{Assembler, Label, Mem};

/// Emits the entry trampoline and, binding `trap_exit`, the shared trap
/// exit; returns the trampoline's offset.
pub fn emit(asm: &mut Assembler, trap_exit: Label) -> usize {
    let enter = asm.offset();
    asm.push_r(Reg::Rbp);
    asm.mov_rr(Reg::Rbp, Reg::Rsp);
    for reg in PRESERVED_FOR_RUST {
        asm.push_r(reg);
    }
    // rdi = context, rsi = entry, rdx = new stack pointer, rcx = register args.
    asm.mov_rr(CONTEXT, Reg::Rdi);
    asm.mov_mr(Mem::new(Reg::Rdi, CTX_SAVED_RSP), Reg::Rsp);
    asm.mov_rr(Reg::Rax, Reg::Rsi);
    asm.mov_rr(Reg::R11, Reg::Rcx);
    asm.mov_rr(Reg::Rsp, Reg::Rdx);
    for (index, reg) in ARG_REGS.into_iter().enumerate() {
        asm.mov_rm(reg, Mem::new(Reg::R11, 8 * index as i32));
    }
    asm.call_r(Reg::Rax);
    // The callee popped its stack arguments, but a tail call may have left
    // `rsp` elsewhere: restore the one saved on entry.
    asm.mov_rm(Reg::Rsp, Mem::new(CONTEXT, CTX_SAVED_RSP));
    let restore = asm.new_label();
    asm.bind(restore);
    for reg in PRESERVED_FOR_RUST.into_iter().rev() {
        asm.pop_r(reg);
    }
    asm.pop_r(Reg::Rbp);
    asm.ret();

    // Reached by `call trap_exit` from a stub: the return address on top of
    // the stack identifies the trap site. `r15` is not trusted here: the
    // context is found from `rsp` alone.
    asm.bind(trap_exit);
    asm.pop_r(Reg::Rax);
    emit_context_address(asm, Reg::R11);
    asm.mov_mr(Mem::new(Reg::R11, CTX_TRAP_PC), Reg::Rax);
    asm.mov_rm(Reg::Rsp, Mem::new(Reg::R11, CTX_SAVED_RSP));
    asm.jmp(restore);
    enter
}

/// `dst = rsp & STACK_BASE_MASK`: the address of the running stack's context.
fn emit_context_address(asm: &mut Assembler, dst: Reg) {
    asm.mov_rr(dst, Reg::Rsp);
    asm.and_ri(dst, STACK_BASE_MASK);
}
