//! What the lowering needs to know about a function before it emits the
//! prologue ([`Facts`]), from one walk of its body with the calls it
//! inlines expanded: whether it calls (so values must survive calls) and
//! whether it loops (calls itself in tail position); which variables are
//! live across a call, so that only those take callee-saved registers or
//! slots; how each variable is bound (its own home, another variable's, or
//! a constant); whether it uses the instructions tied to `rax`/`rcx`/`rdx`;
//! how many stack arguments its calls pass; the large constants it uses
//! (hoisted out of a loop when a register is free); and bounds on how many
//! registers it needs at once (to decide whether it can run without a
//! frame). `shapes` has the same register-need estimates for one
//! expression, which the lowering asks at a branch or a candidate `cmov`
//! ([`cond_registers`], [`value_registers`], [`select_operand_registers`]),
//! and the shapes of expressions the lowering rewrites.
//!
//! The register estimates are bounds the lowering stays correct without
//! (it retries with a frame, or with every variable in a stable home); the
//! liveness is not: the walk visits calls and variable reads in the order
//! the lowering evaluates them, reads deferred by the operand stack
//! included, so a variable it finds dead across every call may live in a
//! caller-saved register.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::abi::{Reg, stack_arg_count};
use crate::ast::{BinOp, UnOp};
use crate::codegen::divide::{DivisorCache, DivisorKind};
use crate::codegen::inline::InlinePlan;
use crate::codegen::regs::RegSet;
use crate::ir::{self, Args, Expr, FuncId, Kind, LocalId};

mod shapes;

use shapes::{folded_constant, in_operator_chain};
pub use shapes::{
    additive_self_call, cond_registers, left_operand, masked_shift, remainder_test,
    select_operand_registers, value_registers,
};

/// The fewest registers an operation tied to `rax`/`rcx`/`rdx` is counted as
/// needing: division ties up `rax` and `rdx` besides its result, and
/// evicting a value from them takes another.
pub(super) const FIXED_OP_REGISTERS: usize = 3;

/// How a variable is bound, as the walk found it. The lowering follows it
/// for aliases (a variable bound to another's value shares its home, and
/// its reads count as reads of that one).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Binding {
    /// The variable has its own home (a parameter, or a computed value).
    Own,
    /// Bound to the value of this variable (`let y = x`, or an argument
    /// `x` of an inlined call), which is never itself an alias.
    Alias(LocalId),
    /// Bound to a literal.
    Const(i64),
}

/// Facts about one function's body.
#[derive(Clone, Debug, Default)]
pub struct Facts {
    /// Some call (possibly inside inlined code) is not in tail position:
    /// values must survive it.
    pub non_tail_calls: bool,
    /// Some call is in tail position (a self tail call included).
    pub tail_calls: bool,
    /// The function calls itself in tail position: it is a loop.
    pub self_tail_calls: bool,
    /// Some return position adds a value to a call of the function itself
    /// ([`additive_self_call`]), and no return position calls another
    /// function: the loop carries the sum in an accumulator instead of
    /// recursing.
    pub accumulates: bool,
    /// The registers some operation needs in particular: `rax` and `rdx`
    /// for division by a variable or by a magic-number constant, `rcx` for
    /// a shift by a variable.
    pub fixed_regs: RegSet,
    /// The most stack arguments (past the sixth) of any non-tail call.
    pub call_stack_args: usize,
    /// The most stack arguments of any tail call to another function (a
    /// self tail call writes the incoming ones in place).
    pub tail_stack_args: usize,
    /// The most values waiting on the operand stack at a non-tail call.
    pub pending_at_call: usize,
    /// An upper bound of the registers the body needs at once, besides the
    /// parameters.
    pub registers: usize,
    /// An upper bound of the values that need a register nothing else
    /// disturbs (`let` bindings, values waiting across a branch).
    pub stable: usize,
    /// The number of `let` bindings (inlined ones included).
    pub lets: usize,
    /// Every variable: the function's own (`0..func.locals`), then those of
    /// each inlined body, at the base [`Facts::inline_base`] gives.
    pub locals: usize,
    /// Per variable: read after a non-tail call that follows its binding
    /// on some path, so it must survive the call.
    pub across_call: Vec<bool>,
    /// Per variable: how it is bound.
    pub bindings: Vec<Binding>,
    /// Per variable: after how many reads its home can be released (0: at
    /// the end of its scope). Set for `let`s (and inlined parameters) whose
    /// every read is on the straight-line code of their scope, outside any
    /// branch that starts after the binding, so that the count is the same
    /// on every path.
    pub release_after: Vec<u32>,
    /// Constants that need a register to be used (they fit no immediate),
    /// with how often the body uses each, in order of first use.
    pub constants: Vec<(i64, u32)>,
    /// Where each inlined body's variables start: by the base of the body
    /// the call is in and the call's address.
    inline_bases: HashMap<(usize, u64), usize, BuildHasherDefault<WordHasher>>,
    /// Some return position calls another function.
    foreign_tail_calls: bool,
    /// The walk's own per-variable state, kept between functions so that
    /// analysing one allocates nothing once the buffers are large enough.
    scratch: Scratch,
    /// The magic numbers of the divisors met so far, in this function or
    /// the ones before (kept by [`Facts::reset`]: it only saves work).
    divisors: DivisorCache,
}

/// The walk's own state kept between functions (see [`Walk`]).
#[derive(Clone, Debug, Default)]
struct Scratch {
    vars: Vec<Var>,
    spine: Vec<(ir::NodeId, RegSet)>,
    expanding: Vec<FuncId>,
    deferred: Vec<LocalId>,
}

impl Facts {
    /// Walks `func`'s body once, expanding the calls `plan` inlines (twice
    /// when additive self calls turn out not to make an accumulating loop
    /// because some return position calls another function).
    pub fn of(func: &ir::Func, id: FuncId, program: &ir::CheckedProgram, plan: &InlinePlan) -> Facts {
        let mut facts = Facts::default();
        facts.refill(func, id, program, plan);
        facts
    }

    /// [`Facts::of`], reusing these facts' buffers.
    pub fn refill(&mut self, func: &ir::Func, id: FuncId, program: &ir::CheckedProgram, plan: &InlinePlan) {
        self.walk(func, id, program, plan, true);
        if self.accumulates && self.foreign_tail_calls {
            self.walk(func, id, program, plan, false);
        }
    }

    /// Empties the facts for a function of `locals` variables, in place
    /// (every field named, so that a new one cannot be forgotten), keeping
    /// the buffers.
    fn reset(&mut self, locals: usize) {
        let Facts {
            non_tail_calls,
            tail_calls,
            self_tail_calls,
            accumulates,
            fixed_regs,
            call_stack_args,
            tail_stack_args,
            pending_at_call,
            registers,
            stable,
            lets,
            locals: count,
            across_call,
            bindings,
            release_after,
            constants,
            inline_bases,
            foreign_tail_calls,
            scratch,
            divisors: _,
        } = self;
        for flag in [non_tail_calls, tail_calls, self_tail_calls, accumulates, foreign_tail_calls] {
            *flag = false;
        }
        *fixed_regs = RegSet::default();
        for number in [call_stack_args, tail_stack_args, pending_at_call, registers, stable, lets] {
            *number = 0;
        }
        *count = locals;
        scratch.vars.clear();
        scratch.vars.resize(locals, Var::default());
        scratch.spine.clear();
        scratch.expanding.clear();
        scratch.deferred.clear();
        across_call.clear();
        across_call.resize(locals, false);
        bindings.clear();
        bindings.resize(locals, Binding::Own);
        release_after.clear();
        constants.clear();
        inline_bases.clear();
    }

    fn walk(
        &mut self,
        func: &ir::Func,
        id: FuncId,
        program: &ir::CheckedProgram,
        plan: &InlinePlan,
        accumulate: bool,
    ) {
        self.reset(func.locals);
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.expanding.push(id);
        let mut walk = Walk {
            program,
            plan,
            id,
            accumulate,
            facts: self,
            expanding: scratch.expanding,
            deferred: scratch.deferred,
            calls: 0,
            depth: 0,
            vars: scratch.vars,
            spine: scratch.spine,
            nested_operations: 0,
        };
        let body = walk.walk(func.root(), 0, true, 0, 0);
        // The value returned is read at the end.
        walk.read(body.deferred);
        walk.facts.registers = body.need;
        let arity = func.arity;
        let locals = walk.facts.locals;
        let released = &mut walk.facts.release_after;
        released.reserve(locals);
        let vars = walk.vars[..locals].iter();
        for (local, (var, &binding)) in vars.zip(&walk.facts.bindings[..locals]).enumerate() {
            let own = binding == Binding::Own;
            released.push(if local >= arity && own && !var.branchy {
                var.reads
            } else {
                0
            });
        }
        walk.facts.scratch = Scratch {
            vars: walk.vars,
            spine: walk.spine,
            expanding: walk.expanding,
            deferred: walk.deferred,
        };
    }

    /// The base of the variables of the body inlined for `call`, a call
    /// inside the body whose variables start at `base`.
    pub fn inline_base(&self, base: usize, call: Expr<'_>) -> usize {
        self.inline_bases[&inline_key(base, call)]
    }

    /// How to divide by the constant `divisor` (see
    /// [`crate::codegen::divide::divisor_kind`]), without working out again
    /// a magic number the analysis did.
    pub fn divisor_kind(&self, divisor: i64) -> DivisorKind {
        self.divisors.lookup(divisor)
    }

    /// How many variables bound to their own home are live across a call
    /// (an upper bound of those that need a callee-saved register at once).
    pub fn homes_across_calls(&self) -> usize {
        self.across_call
            .iter()
            .zip(&self.bindings)
            .filter(|&(&across, &binding)| across && binding == Binding::Own)
            .count()
    }
}

/// The key of [`Facts::inline_bases`] for `call` in the body whose
/// variables start at `base`: the call's body, and its node with the base
/// (which fit 32 bits each).
#[inline]
fn inline_key(base: usize, call: Expr<'_>) -> (usize, u64) {
    let base = u32::try_from(base).expect("fewer than 2^32 variables");
    (call.body_address(), u64::from(base) << 32 | u64::from(call.id()))
}

/// A hasher for keys made of machine words (a base and an address): one
/// multiply per word (FxHash's), where SipHash cost more than the rest of
/// the analysis of a small function. The keys come from the compiler's own
/// layout, not from input an attacker chooses.
#[derive(Default)]
struct WordHasher(u64);

impl Hasher for WordHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.write_u64(u64::from(byte));
        }
    }

    fn write_usize(&mut self, word: usize) {
        self.write_u64(word as u64);
    }

    fn write_u64(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517C_C1B7_2722_0A95);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// The state of the walk over one function.
struct Walk<'a> {
    program: &'a ir::CheckedProgram,
    plan: &'a InlinePlan<'a>,
    /// The functions being expanded, the one analysed first: a call to
    /// one of them is not expanded again.
    expanding: Vec<FuncId>,
    /// The variables passed as arguments of the calls being walked, read
    /// once each call's arguments are all walked: the innermost call's
    /// on top.
    deferred: Vec<LocalId>,
    id: FuncId,
    /// Additive self calls in return positions are accumulations.
    accumulate: bool,
    facts: &'a mut Facts,
    /// Non-tail calls on the path walked so far.
    calls: u32,
    /// How many branches (sides of an `if`, right operands of `&&`/`||`)
    /// the walk is inside.
    depth: u32,
    /// Per variable: what the walk tracks of it.
    vars: Vec<Var>,
    /// The operations of the left spines of the operator chains being
    /// walked, innermost last, with their fixed registers (see
    /// [`Walk::operator_chain`]).
    spine: Vec<(ir::NodeId, RegSet)>,
    /// The operations whose left operands are being walked by recursion
    /// (see [`Walk::operator_chain`]).
    nested_operations: u32,
}

/// What [`Walk`] tracks of one variable: in one list, so that a read
/// looks up one entry and an inlined body's variables take one resize.
#[derive(Copy, Clone, Debug, Default)]
struct Var {
    /// [`Walk::calls`] when it was bound.
    bound_at: u32,
    /// [`Walk::depth`] when it was bound.
    bound_depth: u32,
    /// Reads so far.
    reads: u32,
    /// Read inside a branch its binding is outside of.
    branchy: bool,
}

/// How many operations' left operands the walk recurses into before it
/// walks the rest of a chain in a loop: enough for the expressions people
/// write, few enough that their frames stay small.
const MAX_NESTED_OPERATIONS: u32 = 64;

/// What walking an expression found.
#[derive(Copy, Clone, Debug)]
struct Walked {
    /// Registers needed at once to evaluate it, its result's included.
    need: usize,
    /// Its value occupies a register (it is not a constant or a variable
    /// read in place).
    held: bool,
    /// Its value is a deferred read of this variable: the lowering leaves
    /// it on the operand stack and reads the home only when the value is
    /// consumed, so the read happens then.
    deferred: Option<LocalId>,
}

impl Walked {
    const LEAF: Walked = Walked {
        need: 0,
        held: false,
        deferred: None,
    };

    fn value(need: usize) -> Walked {
        Walked {
            need: need.max(1),
            held: true,
            deferred: None,
        }
    }
}

impl Walk<'_> {
    /// A read of `local` now: live across every call since its binding.
    #[inline(always)]
    fn read(&mut self, local: Option<LocalId>) {
        let Some(local) = local else {
            return;
        };
        let var = &mut self.vars[local];
        if self.calls > var.bound_at {
            self.facts.across_call[local] = true;
        }
        var.reads += 1;
        if self.depth != var.bound_depth {
            var.branchy = true;
        }
    }

    /// Binds `local` to a value just computed (`walked`, from `value`).
    #[inline(always)]
    fn bind(&mut self, local: LocalId, value: Expr<'_>, walked: Walked) {
        self.facts.bindings[local] = match (value.int(), walked.deferred) {
            (Some(c), _) => Binding::Const(c),
            (_, Some(root)) => {
                // The lowering reads the variable to bind the alias.
                self.read(Some(root));
                Binding::Alias(root)
            }
            _ => Binding::Own,
        };
        let var = &mut self.vars[local];
        var.bound_at = self.calls;
        var.bound_depth = self.depth;
    }

    fn constant(&mut self, value: i64) {
        if i32::try_from(value).is_err() {
            match self.facts.constants.iter_mut().find(|(c, _)| *c == value) {
                Some((_, uses)) => *uses += 1,
                None => self.facts.constants.push((value, 1)),
            }
        }
    }

    /// [`Walk::walk`] of a child: a literal or a variable read (most
    /// operands are one) is walked here, without the call.
    #[inline(always)]
    fn walk_child(
        &mut self,
        expr: Expr<'_>,
        base: usize,
        tail: bool,
        pending: usize,
        lets: usize,
    ) -> Walked {
        match *expr.node() {
            ir::Node::Int(value) => {
                self.constant(value);
                Walked::LEAF
            }
            ir::Node::Local(local) => self.local(base + local as LocalId),
            _ => self.walk(expr, base, tail, pending, lets),
        }
    }

    /// A read of variable `local` (numbered in the whole function).
    #[inline(always)]
    fn local(&mut self, local: LocalId) -> Walked {
        match self.facts.bindings[local] {
            Binding::Own => Walked {
                deferred: Some(local),
                ..Walked::LEAF
            },
            Binding::Alias(root) => Walked {
                deferred: Some(root),
                ..Walked::LEAF
            },
            Binding::Const(value) => {
                self.constant(value);
                Walked::LEAF
            }
        }
    }

    /// Walks `expr`, whose variables are numbered from `base`; `pending`
    /// values wait below it on the operand stack and `lets` bindings are
    /// live.
    fn walk(
        &mut self,
        expr: Expr<'_>,
        base: usize,
        tail: bool,
        pending: usize,
        lets: usize,
    ) -> Walked {
        match expr.kind() {
            Kind::Int(value) => {
                self.constant(value);
                Walked::LEAF
            }
            Kind::Local(local) => self.local(base + local),
            Kind::Unary { op, operand } => {
                let inner = self.walk_child(operand, base, false, pending, lets);
                self.read(inner.deferred);
                if op == UnOp::Not {
                    self.facts.stable = self.facts.stable.max(pending + lets);
                }
                Walked::value(inner.need)
            }
            // `e + f(args)` returned: `e` is added to the accumulator, then
            // the call is a jump back to the loop head.
            Kind::Binary { .. }
                if tail && self.accumulate && additive_self_call(expr, self.id).is_some() =>
            {
                let (e, call) = additive_self_call(expr, self.id).expect("matched");
                self.facts.accumulates = true;
                let value = self.walk_child(e, base, false, pending, lets);
                self.read(value.deferred);
                let jump = self.walk_child(call, base, true, pending, lets);
                Walked::value(value.need.max(jump.need))
            }
            Kind::Binary { op, lhs, rhs, .. } if masked_shift(op, lhs, rhs).is_some() => {
                let (x, _, mask) = masked_shift(op, lhs, rhs).expect("matched");
                if let Some(mask) = mask {
                    self.constant(mask);
                }
                let inner = self.walk_child(x, base, false, pending, lets);
                self.read(inner.deferred);
                Walked::value(inner.need)
            }
            // `x & 0xFFFFFFFF` is a zero-extending move: the mask is no
            // constant to materialise.
            Kind::Binary {
                op: BinOp::BitAnd,
                lhs,
                rhs,
                ..
            } if rhs.int() == Some(0xFFFF_FFFF) => {
                let inner = self.walk_child(lhs, base, false, pending, lets);
                self.read(inner.deferred);
                Walked::value(inner.need.max(1))
            }
            Kind::Binary {
                op: BinOp::And | BinOp::Or,
                lhs,
                rhs,
                ..
            } => {
                // Conditions: each side is consumed by its own jump.
                self.facts.stable = self.facts.stable.max(pending + lets);
                let left = self.walk_child(lhs, base, false, pending, lets);
                self.read(left.deferred);
                self.depth += 1;
                let right = self.walk_child(rhs, base, false, pending, lets);
                self.read(right.deferred);
                self.depth -= 1;
                Walked::value(left.need.max(right.need))
            }
            Kind::Binary { op, lhs, rhs, .. } => {
                self.operator_chain(expr, (op, lhs, rhs), base, pending, lets)
            }
            Kind::If {
                cond,
                then_branch,
                else_branch,
                ..
            } => {
                self.facts.stable = self.facts.stable.max(pending + lets);
                let c = self.walk_child(cond, base, false, pending, lets);
                self.read(c.deferred);
                // The branches are separate paths: a call on one does not
                // make the other's reads live across it; after the join,
                // either may have been taken.
                let before = self.calls;
                self.depth += 1;
                let t = self.walk_child(then_branch, base, tail, pending, lets);
                self.read(t.deferred);
                let after_then = std::mem::replace(&mut self.calls, before);
                let e = self.walk_child(else_branch, base, tail, pending, lets);
                self.read(e.deferred);
                self.depth -= 1;
                self.calls = self.calls.max(after_then);
                // A `cmov` holds both results at once.
                Walked::value(c.need.max(t.need).max(e.need).max(2))
            }
            Kind::Let { local, value, body } => {
                self.facts.lets += 1;
                self.facts.stable = self.facts.stable.max(pending + lets + 1);
                let v = self.walk_child(value, base, false, pending, lets);
                self.bind(base + local, value, v);
                let home = usize::from(self.facts.bindings[base + local] == Binding::Own);
                let b = self.walk_child(body, base, tail, pending, lets + 1);
                self.let_result(base + local, v.need.max(home + b.need), b)
            }
            Kind::Call { func, args, .. }
                if !self.expanding.contains(&func) && self.plan.inlines(func, tail) =>
            {
                self.inlined_call(expr, func, args, base, tail, pending, lets)
            }
            Kind::Call { func, args, .. } => {
                let stack_args = stack_arg_count(self.program.funcs[func].arity);
                if tail {
                    self.facts.tail_calls = true;
                    if func == self.id {
                        self.facts.self_tail_calls = true;
                    } else {
                        self.facts.foreign_tail_calls = true;
                        self.facts.tail_stack_args = self.facts.tail_stack_args.max(stack_args);
                    }
                } else {
                    self.facts.non_tail_calls = true;
                    self.facts.call_stack_args = self.facts.call_stack_args.max(stack_args);
                    self.facts.pending_at_call = self.facts.pending_at_call.max(pending);
                }
                let mut need = 0;
                let mut held = 0;
                let first = self.deferred.len();
                for arg in args {
                    let walked = self.walk_child(arg, base, false, pending + held, lets);
                    need = need.max(held + walked.need);
                    held += usize::from(walked.held);
                    self.deferred.extend(walked.deferred);
                }
                // Variables passed as arguments are read when the arguments
                // are moved into place, after every argument is computed.
                for index in first..self.deferred.len() {
                    self.read(Some(self.deferred[index]));
                }
                self.deferred.truncate(first);
                if !tail {
                    self.calls += 1;
                }
                // The arguments then move into place with a parallel move,
                // which needs no register of its own.
                Walked::value(need.max(held))
            }
        }
    }

    /// The operation `top` (one the general case of [`Walk::walk`]
    /// takes). Past [`MAX_NESTED_OPERATIONS`] operations whose left
    /// operands are being walked, the operations of the same kind down
    /// the left operands are walked in a loop ([`Walk::left_spine`]): a
    /// left-leaning chain such as `a + a + ... + a` costs no recursion
    /// per term. (`(op, lhs, rhs)` are `top`'s parts.)
    #[inline(always)]
    fn operator_chain<'e>(
        &mut self,
        top: Expr<'e>,
        (op, lhs, rhs): (BinOp, Expr<'e>, Expr<'e>),
        base: usize,
        pending: usize,
        lets: usize,
    ) -> Walked {
        let top_fixed = self.note_fixed_registers(op, rhs);
        let left = if self.nested_operations < MAX_NESTED_OPERATIONS {
            self.nested_operations += 1;
            let left = self.walk_child(lhs, base, false, pending, lets);
            self.nested_operations -= 1;
            left
        } else if in_operator_chain(lhs) {
            self.left_spine(top, lhs, base, pending, lets)
        } else {
            self.walk_child(lhs, base, false, pending, lets)
        };
        self.finish_operation((op, rhs), top_fixed, left, base, pending, lets)
    }

    /// The left operand `lhs` of `top`, itself an operation in the chain,
    /// and the operations down its left operands: the loop of
    /// [`Walk::operator_chain`]. The work is in the recursion's order:
    /// each operation's fixed registers and constants top down, then
    /// bottom up its right operand and its register need.
    fn left_spine(&mut self, top: Expr<'_>, lhs: Expr<'_>, base: usize, pending: usize, lets: usize) -> Walked {
        let outer = self.spine.len();
        let mut bottom = lhs;
        while in_operator_chain(bottom) {
            let Kind::Binary { op, lhs, rhs, .. } = bottom.kind() else {
                unreachable!("an operation")
            };
            let fixed = self.note_fixed_registers(op, rhs);
            self.spine.push((bottom.id(), fixed));
            bottom = lhs;
        }
        let mut left = self.walk_child(bottom, base, false, pending, lets);
        while self.spine.len() > outer {
            let (id, fixed) = self.spine.pop().expect("above outer");
            let Kind::Binary { op, rhs, .. } = top.sibling(id).kind() else {
                unreachable!("an operation")
            };
            left = self.finish_operation((op, rhs), fixed, left, base, pending, lets);
        }
        left
    }

    /// The fixed registers of operation `op` with right operand `rhs`,
    /// noted in the facts.
    #[inline(always)]
    fn note_fixed_registers(&mut self, op: BinOp, rhs: Expr<'_>) -> RegSet {
        let fixed = self.fixed_registers(op, rhs);
        self.facts.fixed_regs = self.facts.fixed_regs.union(fixed);
        fixed
    }

    /// Operation `op` with right operand `rhs` (needing `fixed`
    /// registers) once its left operand is walked (`left`): its right
    /// operand, and what the two need.
    #[inline(always)]
    fn finish_operation(
        &mut self,
        (op, rhs): (BinOp, Expr<'_>),
        fixed: RegSet,
        left: Walked,
        base: usize,
        pending: usize,
        lets: usize,
    ) -> Walked {
        let held_left = usize::from(left.held);
        let right = self.walk_child(rhs, base, false, pending + held_left, lets);
        // Both operands are read when the operation runs.
        self.read(left.deferred);
        self.read(right.deferred);
        let operands = held_left + usize::from(right.held);
        // The result takes the left operand's register, or the right's
        // when the operation commutes; else a new one.
        let commutes = matches!(
            op,
            BinOp::Add | BinOp::Mul | BinOp::BitAnd | BinOp::BitOr | BinOp::BitXor
        );
        let result = usize::from(!(left.held || commutes && right.held));
        let mut need = left.need.max(held_left + right.need).max(operands + result);
        if !fixed.is_empty() {
            need = need.max(operands + 2).max(FIXED_OP_REGISTERS);
        }
        Walked::value(need)
    }

    /// The registers operation `op` with right operand `rhs` needs in
    /// particular; notes the magic multiplier of a division by a constant.
    #[inline(always)]
    fn fixed_registers(&mut self, op: BinOp, rhs: Expr<'_>) -> RegSet {
        let divides = RegSet::of(&[Reg::Rax, Reg::Rdx]);
        match op {
            BinOp::Div | BinOp::Rem => match folded_constant(rhs) {
                Some(d) => match self.facts.divisors.kind(d) {
                    DivisorKind::Magic(magic) => {
                        self.constant(magic.multiplier);
                        divides
                    }
                    _ => RegSet::EMPTY,
                },
                None => divides,
            },
            BinOp::Shl | BinOp::Shr if folded_constant(rhs).is_none() => RegSet::of(&[Reg::Rcx]),
            _ => RegSet::EMPTY,
        }
    }

    /// A `let` (or an inlined body) whose body `b` was walked: its value is
    /// the body's, owned by the home of `local` if the body is a read of it.
    fn let_result(&mut self, local: LocalId, need: usize, b: Walked) -> Walked {
        if b.deferred == Some(local) {
            // The body's value is the variable: it takes over the home,
            // which must have kept the value until now.
            self.read(Some(local));
            Walked::value(need)
        } else {
            Walked { need, ..b }
        }
    }

    /// A call expanded in place: the arguments bound to the callee's
    /// parameters like nested `let`s, then its body, whose variables get a
    /// fresh range of numbers.
    #[allow(clippy::too_many_arguments)]
    fn inlined_call(
        &mut self,
        call: Expr<'_>,
        func: FuncId,
        args: Args<'_>,
        base: usize,
        tail: bool,
        pending: usize,
        lets: usize,
    ) -> Walked {
        let callee = &self.program.funcs[func];
        let callee_base = self.facts.locals;
        self.facts.locals += callee.locals;
        self.facts.across_call.resize(self.facts.locals, false);
        self.facts.bindings.resize(self.facts.locals, Binding::Own);
        self.vars.resize(self.facts.locals, Var::default());
        self.facts
            .inline_bases
            .insert(inline_key(base, call), callee_base);
        let mut need = 0;
        let mut homes = 0;
        for (param, arg) in args.iter().enumerate() {
            self.facts.stable = self.facts.stable.max(pending + lets + homes + 1);
            let walked = self.walk_child(arg, base, false, pending, lets + homes);
            need = need.max(homes + walked.need);
            self.bind(callee_base + param, arg, walked);
            homes += usize::from(self.facts.bindings[callee_base + param] == Binding::Own);
        }
        self.expanding.push(func);
        let body = self.walk_child(callee.root(), callee_base, tail, pending, lets + homes);
        self.expanding.pop();
        need = need.max(homes + body.need);
        match body.deferred {
            Some(local) if (callee_base..callee_base + args.len()).contains(&local) => {
                // As for a `let`: the parameter's home becomes the value.
                self.read(Some(local));
                Walked::value(need)
            }
            _ => Walked { need, ..body },
        }
    }
}
