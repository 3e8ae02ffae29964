//! The entry trampoline, which Rust calls to enter JIT code, and the shared
//! trap exit, which every trap stub calls to leave it. Both are emitted once
//! per program, before its functions; their contract with the runtime is in
//! [`crate::abi`].

use crate::abi::{
    CONTEXT, CTX_SAVED_RSP, CTX_TRAP_PC, ENTER_FUNCTION, ENTER_STACK, Reg, STACK_BASE_MASK,
};
use crate::codegen::x64::{Assembler, Label, Mem};

/// Emits the entry trampoline and, binding `trap_exit`, the shared trap
/// exit; returns the trampoline's offset.
///
/// The trampoline is as small as the contract allows
/// ([`crate::abi`], "Entering JIT code"): the caller has already put the
/// arguments in their registers, the context in `r15`, the function in
/// `rax` and the JIT stack pointer in `r11`, and it treats `r12`-`r14` as
/// clobbered; so only `rbx` and `rbp`, which Rust cannot let inline
/// assembly clobber, are saved here, and nothing is loaded from memory.
pub fn emit(asm: &mut Assembler, trap_exit: Label) -> usize {
    let enter = asm.offset();
    // Saved on the Rust stack, below the return address: a trap returns
    // through `restore` without running the JIT frames' epilogues.
    asm.push_r(Reg::Rbp);
    asm.push_r(Reg::Rbx);
    asm.mov_mr(Mem::new(CONTEXT, CTX_SAVED_RSP), Reg::Rsp);
    asm.mov_rr(Reg::Rsp, ENTER_STACK);
    asm.call_r(ENTER_FUNCTION);
    // The callee popped its stack arguments, but a tail call to a function
    // with another number of them leaves `rsp` elsewhere: restore the one
    // saved above.
    asm.mov_rm(Reg::Rsp, Mem::new(CONTEXT, CTX_SAVED_RSP));
    let restore = asm.new_label();
    asm.bind(restore);
    asm.pop_r(Reg::Rbx);
    asm.pop_r(Reg::Rbp);
    asm.ret();

    // Reached by `call trap_exit` from a stub: the return address on top of
    // the stack identifies the trap site. The context is found from `rsp`
    // alone, which any code running on a JIT stack can do.
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
