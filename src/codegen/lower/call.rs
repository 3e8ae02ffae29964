//! Calls: arguments evaluated into their registers where possible, values
//! waiting below them made stable, stack arguments stored, then `call`; and
//! tail calls, which replace this function's arguments and jump.

use super::FuncLowering;
use super::debug::Pending;
use super::stack::Disturbance;
use crate::abi::{ARG_REGS, Reg, stack_arg_count};
use crate::artifact::{Cfa, Saved};
use crate::codegen::regs::{Loc, Moves, SCRATCH, Val};
use crate::codegen::x64::Mem;
use crate::artifact::{TrapKind, TrapSite};
use crate::ast::Span;
use crate::ir::{self, FuncId};

/// The length of `jmp [rax]`.
const JMP_M_RAX_LEN: i32 = 2;

impl FuncLowering<'_> {
    /// The address of `func`'s slot in the function table, if the program
    /// only declares it (a function of another REPL entry).
    fn table_slot(&self, func: FuncId) -> Option<i64> {
        match self.links.program.funcs[func].link {
            ir::Link::External(id) => {
                let table = self.links.function_table.expect("external calls need a table");
                Some((table + 8 * id as u64) as i64)
            }
            ir::Link::Defined(_) | ir::Link::TopLevel => None,
        }
    }

    /// Records the site of a call through the table that just ended: a
    /// trap there if the slot's function is not defined yet.
    fn undefined_site(&mut self, callee: FuncId, span: Span) {
        let callee = u32::try_from(callee).expect("under 4 Gi functions");
        let kind = TrapKind::UndefinedFunction {
            callee,
            span: span.into(),
        };
        let site = TrapSite::new(self.asm.offset(), self.site.source_func, kind);
        self.traps.sites.push(site);
    }

    /// The jump that ends a tail call of `func`, at `span`.
    fn tail_jump(&mut self, (func, span): (FuncId, Span)) {
        match self.table_slot(func) {
            None => self.asm.jmp(self.links.funcs[func]),
            Some(slot) => {
                // The frame is gone, so the site cannot be a return
                // address: `r11` brings it, the end of the jump.
                self.asm.mov_ri(Reg::Rax, slot);
                self.asm.lea_rip(SCRATCH, JMP_M_RAX_LEN);
                self.asm.jmp_m(Mem::new(Reg::Rax, 0));
                self.undefined_site(func, span);
            }
        }
    }

    /// Evaluates the arguments onto the operand stack.
    pub(super) fn push_args(&mut self, args: ir::Args<'_>) -> usize {
        for (index, arg) in args.iter().enumerate() {
            self.values.hint = ARG_REGS.get(index).copied();
            self.expr(arg);
            self.values.hint = None;
        }
        self.values.len() - args.len()
    }

    /// Stores the arguments past the sixth at `[rsp + 8k]` and moves the
    /// first six into their registers, then frees them all.
    pub(super) fn place_args(&mut self, base: usize) {
        let args = self.values.drain_from(base);
        for (k, &arg) in args.iter().enumerate().skip(ARG_REGS.len()) {
            let src = self.src(arg);
            let at = Mem::new(Reg::Rsp, 8 * (k - ARG_REGS.len()) as i32);
            self.store_mem(at, src);
        }
        // (Pushed one by one: collecting into an inline list cost more.)
        let mut moves = Moves::new();
        for (&arg, reg) in args.iter().zip(ARG_REGS) {
            moves.push((Loc::Reg(reg), self.src(arg)));
        }
        self.emit_moves(&mut moves);
        for arg in args {
            self.free(arg);
        }
    }

    // Out of line: inlined, its state (branch snapshots, argument
    // lists) would sit in the frame of every level of the visitor's
    // recursion (`expr_kind`: 312 bytes with it, 152 without).
    #[inline(never)]
    pub(super) fn call(&mut self, func: FuncId, args: ir::Args<'_>, span: Span) {
        self.ensure_frame();
        let base = self.push_args(args);
        // Values waiting below the arguments must survive the call.
        self.stabilize(args.len(), Disturbance::Call);
        self.place_args(base);
        match self.table_slot(func) {
            None => self.asm.call(self.links.funcs[func]),
            Some(slot) => {
                // `rax` and `r11` hold nothing now: the arguments are in
                // place and every value waiting is stable. `r11` zero tells
                // a slot of a function not defined yet that this is a call
                // (`CodeMap::undefined`).
                self.asm.mov_ri(Reg::Rax, slot);
                self.asm.zero_r(SCRATCH);
                self.asm.call_m(Mem::new(Reg::Rax, 0));
                self.undefined_site(func, span);
            }
        }
        let popped = 8 * stack_arg_count(args.len()) as i32;
        if popped > 0 {
            // The callee popped its stack arguments; the area is reused.
            self.asm.sub_ri(Reg::Rsp, popped);
        }
        self.values.used.insert(Reg::Rax);
        self.values.push(Val::Reg(Reg::Rax));
    }

    /// A call in tail position: the arguments replace this function's own
    /// (moving the return address when their number on the stack differs),
    /// the frame is dropped and the callee entered by a jump. (When the
    /// numbers of stack arguments differ by an odd count the callee starts
    /// with `rsp` off 16-byte alignment by 8; JIT code never relies on the
    /// alignment, and the trampoline restores `rsp` itself.)
    pub(super) fn tail_call(&mut self, func: FuncId, args: ir::Args<'_>, span: Span) {
        let outgoing = stack_arg_count(args.len()) as i32;
        if outgoing > 0 {
            // The arguments are assembled in the frame's outgoing area.
            self.ensure_frame();
        }
        let base = self.push_args(args);
        let target = (func, span);
        let incoming = self.frame.stack_params as i32;
        self.place_args(base);
        if !self.frame.ready {
            if incoming > 0 {
                self.asm.mov_rm(SCRATCH, Mem::new(Reg::Rsp, 0));
                self.asm.mov_mr(Mem::new(Reg::Rsp, 8 * incoming), SCRATCH);
                self.asm.lea(Reg::Rsp, Mem::new(Reg::Rsp, 8 * incoming));
                // The return address moved up to where the callee finds it;
                // the caller's frame did not.
                self.cfi(|_| Pending {
                    rule: Pending::ENTRY.rule.with_cfa(Cfa::Rsp(8 - 8 * incoming)),
                    plus_frame: false,
                });
            }
            self.tail_jump(target);
            return;
        }
        if outgoing == 0 && incoming == 0 {
            self.emit_epilogue();
            self.tail_jump(target);
            return;
        }
        // Return address to r11, caller's rbp to r10, callee-saved registers
        // restored, then the outgoing arguments copied (from the top down,
        // the destination lying above the source) to end where this
        // function's own arguments ended.
        self.asm.mov_rm(SCRATCH, Mem::new(Reg::Rbp, 8));
        let mut rule = self.frame.rule(self.frame.set_up());
        rule.rule.return_address = Saved::InReg(SCRATCH);
        self.cfi(|_| rule);
        self.asm.mov_rm(Reg::R10, Mem::new(Reg::Rbp, 0));
        rule.rule = rule.rule.with_saved(Reg::Rbp, Saved::InReg(Reg::R10));
        self.cfi(|_| rule);
        for index in 0..self.frame.saved.len() {
            let reg = self.frame.saved[index];
            self.asm
                .mov_rm(reg, Mem::new(Reg::Rbp, -8 * (index as i32 + 1)));
            rule.rule = rule.rule.with_saved(reg, Saved::Same);
            self.cfi(|_| rule);
        }
        let dest = 16 + 8 * incoming - 8 * outgoing;
        for k in (0..outgoing).rev() {
            self.asm.mov_rm(Reg::Rax, Mem::new(Reg::Rsp, 8 * k));
            self.asm.mov_mr(Mem::new(Reg::Rbp, dest + 8 * k), Reg::Rax);
        }
        self.asm.lea(Reg::Rsp, Mem::new(Reg::Rbp, dest - 8));
        self.asm.mov_mr(Mem::new(Reg::Rsp, 0), SCRATCH);
        self.asm.mov_rr(Reg::Rbp, Reg::R10);
        // `rsp` is where the callee's return address is; the caller's
        // frame is `8 * incoming` above this function's first argument.
        rule.rule = rule
            .rule
            .with_cfa(Cfa::Rsp(8 - 8 * incoming + 8 * outgoing))
            .with_saved(Reg::Rbp, Saved::Same);
        self.cfi(|_| rule);
        self.tail_jump(target);
    }
}
