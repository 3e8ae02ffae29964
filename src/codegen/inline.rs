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

use std::cell::RefCell;

use crate::ir::{self, FuncId, Kind};

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
    decided: RefCell<Vec<Decision>>,
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

impl<'p> InlinePlan<'p> {
    /// The plan for `program`; nothing is decided yet.
    pub fn of(program: &'p ir::CheckedProgram) -> InlinePlan<'p> {
        InlinePlan {
            program,
            decided: RefCell::new(vec![Decision::Unknown; program.funcs.len()]),
        }
    }

    /// A plan that inlines nothing.
    pub fn none(program: &'p ir::CheckedProgram) -> InlinePlan<'p> {
        InlinePlan {
            program,
            decided: RefCell::new(vec![Decision::Never; program.funcs.len()]),
        }
    }

    /// Whether calls to `func` are expanded in place (where they do not
    /// re-enter an expansion of it). In tail position only a `func` whose
    /// expansion makes no call is: a tail call is already a jump, so
    /// expanding one that calls on saves little and costs compile time.
    pub fn inlines(&self, func: FuncId, tail: bool) -> bool {
        self.decide(func, 0)
            .is_some_and(|(_, leaf)| leaf || !tail)
    }

    /// `func`'s size with its inlined calls expanded and whether that
    /// makes no call, if it is inlined.
    fn decide(&self, func: FuncId, chain: usize) -> Option<(usize, bool)> {
        match self.decided.borrow().get(func).copied()? {
            Decision::Inline { size, leaf } => return Some((size, leaf)),
            Decision::Never | Decision::Sizing => return None,
            Decision::Unknown => {}
        }
        // A function of another entry has no body here, and the table
        // lets a later entry replace it.
        if chain > MAX_CHAIN || self.program.funcs[func].is_external() {
            return None;
        }
        self.decided.borrow_mut()[func] = Decision::Sizing;
        let decision = self.size(func, chain);
        self.decided.borrow_mut()[func] = match decision {
            Some((size, leaf)) => Decision::Inline { size, leaf },
            None => Decision::Never,
        };
        decision
    }

    /// Walks at most [`MAX_INLINE_NODES`] + 1 nodes of `func`'s body (an
    /// inlined callee counting as its expanded size), or stops at a call
    /// of `func` itself.
    fn size(&self, func: FuncId, chain: usize) -> Option<(usize, bool)> {
        let mut size = 0usize;
        let mut leaf = true;
        let root = self.program.funcs[func].root();
        let mut work = vec![root.id()];
        while let Some(id) = work.pop() {
            let expr = root.sibling(id);
            size += 1;
            if let Kind::Call { func: callee, .. } = expr.kind() {
                if callee == func {
                    return None;
                }
                match self.decide(callee, chain + 1) {
                    // The call node is replaced by the callee's body.
                    Some((expanded, callee_leaf)) => {
                        size += expanded - 1;
                        leaf &= callee_leaf;
                    }
                    None => leaf = false,
                }
            }
            if size > MAX_INLINE_NODES {
                return None;
            }
            expr.push_children(&mut work);
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
            .filter(|&f| plan.decided.borrow()[f] != Decision::Unknown)
            .count();
        assert!(sized <= MAX_CHAIN + 2, "{sized} functions sized");
    }
}
