//! Variables: how each is bound (a home of its own, chosen by whether it
//! must survive a call; another variable's home; a constant), reads of
//! them, the end of their scope, and calls expanded in place, whose
//! parameters are bound like `let`s.
//!
//! A variable the analysis found dead across every call stays in the
//! caller-saved register its value was computed in (unless fixed
//! instructions need that register); one that is live across a call moves
//! to a callee-saved register or a slot. `let y = x` and an inlined call's
//! argument `x` bind no home at all: reads of `y` read `x`, which never
//! changes while `y` is in scope (a loop rewrites its parameters only at
//! the jump back to its head, after every scope inside has closed).

use super::FuncLowering;
use crate::abi::Reg;
use crate::codegen::analysis::Binding;
use crate::codegen::regs::{Home, POOL, RegSet, Val};
use crate::ir::{self, FuncId, LocalId};

impl FuncLowering<'_> {
    /// The operand-stack value that reads variable `local`: a read of its
    /// own home, of the variable it aliases, or its constant.
    pub(super) fn read_local(&self, local: LocalId) -> Val {
        match self.values.homes[local].expect("variable in scope") {
            Home::Alias(root) => Val::Local(root),
            Home::Const(value) => Val::Const(value),
            Home::Reg(_) | Home::Slot(_) | Home::Mem(_) => Val::Local(local),
        }
    }

    /// Evaluates `value` and binds it to variable `local`.
    pub(super) fn bind_local(&mut self, local: LocalId, value: ir::Expr<'_>) {
        self.expr(value);
        let val = self.values.pop();
        let home = match (val, self.func.facts.bindings[local]) {
            (Val::Const(value), _) => Home::Const(value),
            (Val::Local(root), Binding::Alias(alias)) if root == alias => {
                // A read of the variable, as the analysis counts it.
                self.free(val);
                Home::Alias(root)
            }
            (val, binding) => {
                // Where the analysis expected an alias it counted this
                // variable's reads as the other's: only a home that
                // survives calls is safe then.
                let stable = binding != Binding::Own || self.wants_stable_home(local);
                self.own_home(val, stable)
            }
        };
        self.values.reads_left[local] = match home {
            Home::Reg(_) | Home::Slot(_) => self.func.facts.release_after[local],
            Home::Mem(_) | Home::Alias(_) | Home::Const(_) => 0,
        };
        self.values.homes[local] = Some(home);
    }

    /// A home for `val` (consumed): where it already is if that place is
    /// good enough, else a new one it is copied to. `stable`: it must
    /// survive calls.
    fn own_home(&mut self, val: Val, stable: bool) -> Home {
        match val {
            // A callee-saved register (taken when the pool ran short).
            Val::Reg(reg) if !POOL.contains(&reg) => return Home::Reg(reg),
            Val::Reg(reg) if !stable && !self.home_avoid().has(reg) => return Home::Reg(reg),
            Val::Slot(slot) => return Home::Slot(slot),
            _ => {}
        }
        let home = if stable {
            self.alloc_stable()
        } else {
            self.alloc_home(self.home_avoid())
        };
        // Read after the allocation, which may have set up the frame.
        let src = self.src(val);
        self.store(home, src);
        self.free(val);
        home
    }

    /// Registers a variable's home must avoid: `rax`, `rcx` and `rdx` in a
    /// function whose division or shifts need them; and `rax` in one that
    /// calls, where every call result claims it. (A home in any other
    /// caller-saved register is dead after the next call, by the analysis,
    /// and keeps its register until its scope ends, so nothing else is
    /// put there meanwhile.)
    pub(super) fn home_avoid(&self) -> RegSet {
        let mut avoid = self.shape.fixed;
        if !self.shape.only_tail_calls {
            avoid.insert(Reg::Rax);
        }
        avoid
    }

    /// Whether a fixed-register instruction of this function may clobber
    /// `reg`.
    pub(super) fn fixed_would_clobber(&self, reg: Reg) -> bool {
        self.shape.fixed.has(reg)
    }

    /// Ends the scope of `local` on a path that has left nothing on the
    /// operand stack (tail position).
    pub(super) fn unbind(&mut self, local: LocalId) {
        if let Some(owned) = self.values.homes[local].take().and_then(|h| h.owned_val()) {
            self.free(owned);
        }
    }

    /// Ends the scope of `local` under the value its scope computed, which
    /// takes over the home if it is a read of the variable.
    pub(super) fn unbind_under_value(&mut self, local: LocalId) {
        // (Released already after its last read, if that came first.)
        let Some(home) = self.values.homes[local].take() else {
            return;
        };
        if let Some(owned) = home.owned_val() {
            if self.values.top() == Some(Val::Local(local)) {
                self.values.replace_top(owned);
            } else {
                self.free(owned);
            }
        }
    }

    /// A call of `func` expanded in place (`call` is the call's node): the
    /// arguments bound to its parameters in order, like nested `let`s, then
    /// its body lowered with its variables renumbered from the base the
    /// analysis gave them, and division traps naming it. In tail position
    /// its own tail calls stay tail calls.
    pub(super) fn inline_call(
        &mut self,
        call: ir::Expr<'_>,
        func: FuncId,
        args: ir::Args<'_>,
        tail: bool,
    ) {
        let callee = &self.links.program.funcs[func];
        self.expanded.push((self.func.id, func));
        let base = self.func.facts.inline_base(self.site.local_base, call);
        for (param, arg) in args.iter().enumerate() {
            self.bind_local(base + param, arg);
        }
        let outer = (self.site.local_base, self.site.source_func);
        (self.site.local_base, self.site.source_func) = (base, func);
        self.site.expanding.push(func);
        if tail {
            self.tail_expr(callee.root());
        } else {
            self.expr(callee.root());
        }
        self.site.expanding.pop();
        (self.site.local_base, self.site.source_func) = outer;
        for param in (0..args.len()).rev() {
            if tail {
                self.unbind(base + param);
            } else {
                self.unbind_under_value(base + param);
            }
        }
    }
}
