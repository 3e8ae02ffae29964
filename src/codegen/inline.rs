//! Which functions are small enough to be expanded at their call sites
//! instead of called ([`InlinePlan`]), decided on demand, the first time a
//! call to the function is lowered.
//!
//! A function is inlined when it does not call itself and its body, with
//! the calls it inlines itself expanded, has at most [`MAX_INLINE_NODES`]
//! nodes. The bound is on the expanded size, so a call site never grows
//! by more than that however deep the chain of small helpers. An
//! expansion never re-enters a function it is already expanding (nor the
//! function being compiled): a call back into one stays a call, so small
//! mutually recursive functions are expanded one level and every
//! expansion ends. A recursion through inlined code thus still goes
//! through a function's own entry check and overflows in a function of
//! the recursion. Inlined code keeps its own spans and its trap sites name
//! its own function, so errors read as if it had been called; its own code
//! is still emitted (other programs, the API and `:asm` call it).
//!
//! Deciding on demand, rather than in a pass over the whole program, walks
//! only the first [`MAX_INLINE_NODES`] + 1 nodes of each function that is
//! called, right before its body is expanded (while it is in the cache
//! for the expansion), and never the bodies of functions too large.
//!
//! The decisions depend on the order they are asked for (where a chain is
//! cut, which of two mutually recursive helpers is sized inside the
//! other). Code generated in parallel must not depend on which thread asks
//! first, so each thread has a plan of its own, and one that emits
//! functions from the middle of the program first asks, with
//! `InlinePlan::decide_in_order`, every question the functions before
//! them ask, in the order one thread would.

use std::cell::{Cell, RefCell};

use crate::codegen::analysis::additive_self_call;
use crate::ir::{self, FuncId, Kind, NodeId};

/// The largest body, in IR nodes after expanding what it inlines itself,
/// that is inlined: about the size of a two-line helper (`max`, a hash
/// mixing step, a five-way constant table), whose call would cost more
/// than its body.
pub const MAX_INLINE_NODES: usize = 32;

/// How deep a chain of small helpers is followed when sizing one; a
/// helper deeper down counts as too large. Bounds the recursion of the
/// sizing, whatever the program.
const MAX_CHAIN: usize = 16;

/// The inlining decisions for a program's functions, made on demand.
#[derive(Debug)]
pub struct InlinePlan<'p> {
    program: &'p ir::CheckedProgram,
    /// Each function's [`Decision`], encoded (see [`Decision::encode`]).
    /// A plan is one thread's: each code generation thread has its own.
    decided: Vec<Cell<u8>>,
    /// Room for the sizing's walks of [`InlinePlan::inlines`], kept from
    /// question to question (a new list per function sized cost more than
    /// a small function's sizing).
    sizing: RefCell<Vec<NodeId>>,
}

/// What is known about inlining one function.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Decision {
    Unknown,
    /// Being sized: a call reached again while sizing stays a call.
    Sizing,
    /// Inlined, with this expanded size; `leaf`: the expansion makes no
    /// call.
    Inline { size: usize, leaf: bool },
    Never,
}

/// What [`InlinePlan::decide_in_order`] keeps between functions: the
/// state of [`InlinePlan::asks_nothing_new`] and room for the sizing.
#[derive(Default)]
struct Settled {
    /// Per function: inlined, and every call in its body (and in those of
    /// the inlined functions it calls, followed down) is to a decided or
    /// an external function: expanding it asks nothing new.
    known: Vec<bool>,
    /// The inlined functions reached by the current question.
    seen: Vec<FuncId>,
    /// The bodies still to scan.
    stack: Vec<FuncId>,
    /// Room for the sizing's walks (see [`InlinePlan::decide`]).
    sizing: Vec<NodeId>,
}

impl Decision {
    /// The decision in a byte: sizes are at most [`MAX_INLINE_NODES`].
    fn encode(self) -> u8 {
        match self {
            Decision::Unknown => 0,
            Decision::Sizing => 1,
            Decision::Never => 2,
            Decision::Inline { size, leaf } => {
                debug_assert!(size <= MAX_INLINE_NODES);
                3 + ((size as u8) << 1 | u8::from(leaf))
            }
        }
    }

    /// The decision [`Decision::encode`] encoded as `byte`.
    fn decode(byte: u8) -> Decision {
        match byte {
            0 => Decision::Unknown,
            1 => Decision::Sizing,
            2 => Decision::Never,
            n => Decision::Inline {
                size: usize::from((n - 3) >> 1),
                leaf: (n - 3) & 1 == 1,
            },
        }
    }
}

const _: () = assert!(3 + (MAX_INLINE_NODES << 1 | 1) <= u8::MAX as usize);

impl<'p> InlinePlan<'p> {
    /// The plan for `program`; nothing is decided yet.
    pub fn of(program: &'p ir::CheckedProgram) -> InlinePlan<'p> {
        Self::all(program, Decision::Unknown)
    }

    /// A plan that inlines nothing.
    pub fn none(program: &'p ir::CheckedProgram) -> InlinePlan<'p> {
        Self::all(program, Decision::Never)
    }

    fn all(program: &'p ir::CheckedProgram, decision: Decision) -> InlinePlan<'p> {
        InlinePlan {
            program,
            decided: vec![Cell::new(decision.encode()); program.funcs.len()],
            sizing: RefCell::new(Vec::new()),
        }
    }

    fn get(&self, func: FuncId) -> Option<Decision> {
        let byte = self.decided.get(func)?.get();
        Some(Decision::decode(byte))
    }

    fn set(&self, func: FuncId, decision: Decision) {
        self.decided[func].set(decision.encode());
    }

    /// Makes every decision the code generator asks for when it emits the
    /// functions `funcs`, in the order one thread emitting them in order
    /// asks for them: the
    /// analysis of each function ([`crate::codegen::analysis::Facts`])
    /// asks first, at every call it reaches, in its walk's order, before
    /// it expands the call (the lowering then asks the same questions
    /// again). Walks with an explicit stack, so any nesting depth is fine.
    pub(crate) fn decide_in_order(&self, funcs: std::ops::Range<FuncId>) {
        /// A step of the walk: a node of a function's body (and whether it
        /// is in tail position), or the start or end of an expansion.
        enum Step {
            Node { func: FuncId, node: NodeId, tail: bool },
            Expand { func: FuncId, tail: bool },
            Done,
        }
        let mut work = Vec::new();
        let mut expanding = Vec::new();
        let mut settled = Settled::default();
        for (id, func) in self.program.funcs[funcs.clone()].iter().enumerate() {
            let id = id + funcs.start;
            if func.is_external()
                || self.decides_alone(id, func, &mut settled.sizing)
                || self.asks_nothing_new(id, &mut settled)
            {
                continue;
            }
            expanding.clear();
            expanding.push(id);
            work.push(Step::Node {
                func: id,
                node: func.root().id(),
                tail: true,
            });
            while let Some(step) = work.pop() {
                let (func, node, tail) = match step {
                    Step::Node { func, node, tail } => (func, node, tail),
                    Step::Expand { func, tail } => {
                        expanding.push(func);
                        work.push(Step::Done);
                        work.push(Step::Node {
                            func,
                            node: self.program.funcs[func].root().id(),
                            tail,
                        });
                        continue;
                    }
                    Step::Done => {
                        expanding.pop();
                        continue;
                    }
                };
                let expr = self.program.funcs[func].root().sibling(node);
                let at = |node: ir::Expr<'_>, tail| Step::Node {
                    func,
                    node: node.id(),
                    tail,
                };
                // Pushed last first: the walk's order is the analysis's.
                match expr.kind() {
                    Kind::Int(_) | Kind::Local(_) => {}
                    Kind::Unary { operand, .. } => work.push(at(operand, false)),
                    // The analysis walks the other operand of `e + f(args)`
                    // returned first (the call is to the function itself,
                    // never expanded, so only its arguments follow).
                    Kind::Binary { .. } if tail && additive_self_call(expr, id).is_some() => {
                        let (e, call) = additive_self_call(expr, id).expect("matched");
                        work.push(at(call, true));
                        work.push(at(e, false));
                    }
                    Kind::Binary { lhs, rhs, .. } => {
                        work.push(at(rhs, false));
                        work.push(at(lhs, false));
                    }
                    Kind::If {
                        cond,
                        then_branch,
                        else_branch,
                        ..
                    } => {
                        work.push(at(else_branch, tail));
                        work.push(at(then_branch, tail));
                        work.push(at(cond, false));
                    }
                    Kind::Let { value, body, .. } => {
                        work.push(at(body, tail));
                        work.push(at(value, false));
                    }
                    Kind::Call { func: callee, args, .. } => {
                        if !expanding.contains(&callee) && self.inlines_with(callee, tail, &mut settled.sizing) {
                            work.push(Step::Expand { func: callee, tail });
                        }
                        for arg in args.iter().rev() {
                            work.push(at(arg, false));
                        }
                    }
                }
            }
        }
    }

    /// For [`Self::decide_in_order`], without walking function `id`'s body
    /// when the order of its calls cannot matter: when they reach at most
    /// one function that is not decided against already (nor external,
    /// nor `id` itself, never asked about), and that one is undecided, to
    /// be decided against. Then asks about it and returns true; else
    /// (with the question asked, if there was one) false: the body must
    /// be walked.
    fn decides_alone(&self, id: FuncId, func: &ir::Func, sizing: &mut Vec<NodeId>) -> bool {
        let mut open = None;
        for callee in func.body.callees() {
            let settled = callee == id
                || self.program.funcs[callee].is_external()
                || self.get(callee) == Some(Decision::Never);
            match open {
                _ if settled => {}
                None => open = Some(callee),
                Some(other) if other == callee => {}
                Some(_) => return false,
            }
        }
        match open {
            None => true,
            Some(callee) => self.get(callee) == Some(Decision::Unknown) && self.decide(callee, 0, sizing).is_none(),
        }
    }

    /// For [`Self::decide_in_order`], without walking function `id`'s body
    /// when the walk would ask only questions already answered: when every
    /// call in the body, and in the bodies of the inlined functions it
    /// calls (followed down), is to a decided or an external function, or
    /// back to `id` (never asked about in its own walk). Such a walk
    /// changes nothing, in whatever order it asks.
    fn asks_nothing_new(&self, id: FuncId, settled: &mut Settled) -> bool {
        let Settled { known, seen, stack, .. } = settled;
        known.resize(self.program.funcs.len(), false);
        seen.clear();
        stack.clear();
        stack.push(id);
        // Whether some body reached calls `id` while `id` is undecided:
        // then what was reached is not settled for the walks of others.
        let mut calls_undecided_root = false;
        while let Some(func) = stack.pop() {
            for callee in self.program.funcs[func].body.callees() {
                if callee == id {
                    calls_undecided_root |= self.get(id) == Some(Decision::Unknown);
                    continue;
                }
                if known[callee] || self.program.funcs[callee].is_external() {
                    continue;
                }
                match self.get(callee) {
                    Some(Decision::Never) => {}
                    Some(Decision::Inline { .. }) => {
                        if !seen.contains(&callee) {
                            seen.push(callee);
                            stack.push(callee);
                        }
                    }
                    _ => return false,
                }
            }
        }
        if !calls_undecided_root {
            // Decisions are never taken back: these stay settled.
            for &func in seen.iter() {
                known[func] = true;
            }
        }
        true
    }

    /// Whether calls to `func` are expanded in place (where they do not
    /// re-enter an expansion of it). In tail position only a `func` whose
    /// expansion makes no call is: a tail call is already a jump, so
    /// expanding one that calls on saves little and costs compile time.
    pub fn inlines(&self, func: FuncId, tail: bool) -> bool {
        // (Sizing never asks this again, so the room is not borrowed yet.)
        self.inlines_with(func, tail, &mut self.sizing.borrow_mut())
    }

    /// [`Self::inlines`], sizing in `work` (see [`Self::decide`]).
    fn inlines_with(&self, func: FuncId, tail: bool, work: &mut Vec<NodeId>) -> bool {
        self.decide(func, 0, work)
            .is_some_and(|(_, leaf)| leaf || !tail)
    }

    /// `func`'s size with its inlined calls expanded and whether that
    /// makes no call, if it is inlined; `work` is room for the walks of
    /// the sizing, shared by the chain of functions sized (each walks on
    /// top of the one that reached it), so that sizing allocates once.
    fn decide(&self, func: FuncId, chain: usize, work: &mut Vec<NodeId>) -> Option<(usize, bool)> {
        match self.get(func)? {
            Decision::Inline { size, leaf } => return Some((size, leaf)),
            Decision::Never | Decision::Sizing => return None,
            Decision::Unknown => {}
        }
        // A function of another entry has no body here, and the table
        // lets a later entry replace it.
        if chain > MAX_CHAIN || self.program.funcs[func].is_external() {
            return None;
        }
        self.set(func, Decision::Sizing);
        let decision = self.size(func, chain, work);
        self.set(
            func,
            match decision {
                Some((size, leaf)) => Decision::Inline { size, leaf },
                None => Decision::Never,
            },
        );
        decision
    }

    /// Walks at most [`MAX_INLINE_NODES`] + 1 nodes of `func`'s body (an
    /// inlined callee counting as its expanded size), or stops at a call
    /// of `func` itself.
    /// The walk uses `work` above its current length, and leaves it as it
    /// found it.
    fn size(&self, func: FuncId, chain: usize, work: &mut Vec<NodeId>) -> Option<(usize, bool)> {
        let mut size = 0usize;
        let mut leaf = true;
        let root = self.program.funcs[func].root();
        let base = work.len();
        work.push(root.id());
        while work.len() > base {
            let id = work.pop().expect("above base");
            let expr = root.sibling(id);
            size += 1;
            // (The node, not `kind`: only a call's callee is needed.)
            if let ir::Node::Call { func: callee, .. } = *expr.node() {
                let callee = callee as FuncId;
                if callee == func {
                    work.truncate(base);
                    return None;
                }
                match self.decide(callee, chain + 1, work) {
                    // The call node is replaced by the callee's body.
                    Some((expanded, callee_leaf)) => {
                        size += expanded - 1;
                        leaf &= callee_leaf;
                    }
                    None => leaf = false,
                }
            }
            if size > MAX_INLINE_NODES {
                work.truncate(base);
                return None;
            }
            expr.push_children(work);
        }
        Some((size, leaf))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{Timings, front_end};

    fn program(source: &str) -> ir::CheckedProgram {
        front_end(source, &mut Timings::default()).expect("valid")
    }

    fn id(program: &ir::CheckedProgram, name: &str) -> FuncId {
        program
            .funcs
            .iter()
            .position(|f| f.name == name)
            .expect("defined")
    }

    #[test]
    fn small_helpers_are_inlined_and_self_recursion_is_not() {
        let program = program(
            "fn max(a, b) = if a > b then a else b\n\
             fn fib(n) = if n < 2 then n else fib(n - 1) + fib(n - 2)\n\
             fn uses(x) = max(x, fib(x))\n\
             fn big(x) = x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x + x\n",
        );
        let plan = InlinePlan::of(&program);
        assert!(plan.inlines(id(&program, "max"), false));
        assert!(!plan.inlines(id(&program, "fib"), false), "self-recursive");
        assert!(plan.inlines(id(&program, "uses"), false), "small, and calls are fine");
        assert!(plan.inlines(id(&program, "max"), true), "makes no call");
        assert!(!plan.inlines(id(&program, "uses"), true), "calls fib: a tail call stays one");
        assert!(!plan.inlines(id(&program, "big"), false), "35 nodes");
    }

    #[test]
    fn mutual_recursion_is_sized_without_going_round() {
        // Sizing `even` reaches `odd`, which calls `even` back: that call
        // stays a call, so both are small. (An expansion never re-enters
        // itself: the lowering and the analysis see to that.)
        let program = program(
            "fn even(n) = if n == 0 then 1 else odd(n - 1)\n\
             fn odd(n) = if n == 0 then 0 else even(n - 1)\n",
        );
        let plan = InlinePlan::of(&program);
        assert!(plan.inlines(id(&program, "even"), false));
        assert!(plan.inlines(id(&program, "odd"), false));
    }

    #[test]
    fn the_bound_is_on_the_expanded_size() {
        // f0 has 3 nodes; each level is 7 nodes besides the two calls of
        // the level below, whose bodies replace them while that level is
        // inlined: 3, 11, 27, then 59 (over the bound). f4 calls f3, which
        // is not inlined, so f4 is small again.
        let mut source = String::from("fn f0(x) = x + 1\n");
        for level in 1..6 {
            let below = level - 1;
            source.push_str(&format!("fn f{level}(x) = f{below}(x) * f{below}(x + 1)\n"));
        }
        let program = program(&source);
        let plan = InlinePlan::of(&program);
        let inlined: Vec<bool> = (0..6)
            .map(|l| plan.inlines(id(&program, &format!("f{l}")), false))
            .collect();
        assert_eq!(inlined, [true, true, true, false, true, true]);
    }

    #[test]
    fn long_call_chains_do_not_exhaust_the_stack() {
        let mut source = String::from("fn f0(x) = x\n");
        for i in 1..20_000 {
            source.push_str(&format!("fn f{i}(x) = f{}(x)\n", i - 1));
        }
        let program = program(&source);
        let plan = InlinePlan::of(&program);
        // Sized from the far end of the chain first: the chain is cut
        // where it gets too deep, and what is above grows by a node a level.
        assert!(plan.inlines(id(&program, "f19999"), false));
        assert!(plan.inlines(id(&program, "f0"), false));
        let sized = (0..20_000)
            .filter(|&f| plan.get(f) != Some(Decision::Unknown))
            .count();
        assert!(sized <= MAX_CHAIN + 2, "{sized} functions sized");
    }
}
