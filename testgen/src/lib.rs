//! exprjit's one generator of random test programs, and the check that the
//! JIT and the reference interpreter agree on them.
//!
//! Three consumers drive it: the proptest differential test
//! (`tests/differential.rs`), the random-program test of the code
//! generator's rewrites (`tests/codegen_rewrites.rs`, which also uses the
//! edge values and the check for its exhaustive operator tests) and the
//! `differential` fuzz target (`fuzz/`, through `arbitrary`).
//!
//! # Design
//!
//! A test program is drawn as a [`RawProgram`]: a plain tree of functions
//! and expressions in which nothing needs to be consistent. Variables and
//! callees are small integers, operators are indices into exprjit's operator
//! lists, arities and list lengths are whatever was drawn. [`render()`] gives
//! any such tree a meaning as source text, and that meaning is always a
//! valid program that terminates quickly:
//!
//! - **Valid.** A variable index is taken modulo the names in scope (a
//!   constant when there are none), a callee index modulo the functions it
//!   may call, a call gets exactly its callee's number of arguments (extra
//!   raw arguments are dropped, missing ones are edge constants), an
//!   operator index modulo the operator list. Counts are clamped
//!   ([`MAX_FUNCS`], [`MAX_PARAMS`] but up to [`MAX_WIDE_PARAMS`] for a wide loop,
//!   [`MAX_TOP_LEVEL`]) and subtrees deeper than [`MAX_DEPTH`] (a helper's
//!   than [`HELPER_DEPTH`]) become constants.
//! - **Terminating.** Function `fN` calls only functions defined after it,
//!   so calls between different functions form no cycle. The only
//!   recursion is that of the [`Shape`]s that allow it, and there the
//!   self-call's first argument is `(p0 % B) - 1` under a guard
//!   `if (p0 % B) <= 0`: the bound parameter is below `B` in every
//!   recursive call and decreases on each, so recursion is at most `B`
//!   deep, whatever the arguments.
//! - **Quick.** Every function's worst-case number of calls per invocation
//!   is computed while rendering (callees are rendered first), and a call
//!   that would take its expression over [`CALL_BUDGET`] is rendered as
//!   something else. So any function, called with any arguments, and any
//!   top-level expression makes at most [`CALL_BUDGET`] calls.
//!
//! Because every tree is valid, a shrinking test framework can shrink the
//! raw tree freely: proptest's minimal failing tree still renders to a
//! program, the smallest one that fails. And because the fuzzer's bytes
//! become a raw tree through `arbitrary`, every fuzz input is a program.
//!
//! [`agree()`] compiles a program once and runs it on both back ends: the
//! top-level expressions as the CLI runs them (printing values in order,
//! stopping at the first runtime error), then any extra function calls
//! with given arguments. Values and runtime errors (kind, function and
//! source span) must be equal; a [`Disagreement`] displays the difference
//! and the numbered program source.
//!
//! [`EDGES`] is the one list of interesting integers: the renderer draws
//! constants from it, and tests use it for exhaustive operator × value
//! checks.
//!
//! # Extending
//!
//! A new way of building a function is a new [`Shape`] variant: add it to
//! [`Shape::ALL`] with a weight ([`Shape::weight`]) and give it an arm in
//! the renderer's `render_func`, which must keep the three promises above
//! (and return the function's worst-case call count). The proptest
//! strategy and the `arbitrary` derive pick it up from there.
//!
//! # Features
//!
//! - `proptest`: `strategy`, proptest strategies for the raw types.
//! - `arbitrary`: `arbitrary::Arbitrary` for the raw types.
//!
//! All of exprjit's internals that this crate uses are named in one private
//! module (`backends.rs`).

#![warn(missing_docs)]

mod agree;
mod backends;
mod edges;
mod raw;
mod render;
#[cfg(feature = "proptest")]
pub mod strategy;

pub use agree::{Agreed, Disagreement, ErrorKind, agree, assert_agree};
pub use edges::EDGES;
pub use raw::{RawExpr, RawFunc, RawProgram, Shape};
pub use render::{
    CALL_BUDGET, HELPER_DEPTH, LOOP_BOUND, MAX_DEPTH, MAX_FUNCS, MAX_PARAMS, MAX_SELF_CALLS,
    MAX_TOP_LEVEL, MAX_WIDE_PARAMS, RECURSION_BOUND, render,
};

/// A fixed pseudo-random sequence (xorshift64 from `state`, which must
/// not be zero): each call gives the next number below `bound`. For
/// generated workloads that must be the same on every run and every
/// machine.
pub fn xorshift(mut state: u64) -> impl FnMut(usize) -> usize {
    move |bound| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % bound as u64) as usize
    }
}

/// The infix operators' symbols, in exprjit's order (`BinOp::ALL`): what a
/// [`RawExpr::Binary`] operator index selects from.
pub fn binary_operators() -> impl Iterator<Item = &'static str> {
    backends::BINARY_OPS.iter().map(|op| op.symbol())
}

/// The prefix operators' symbols (`UnOp::ALL`): what a [`RawExpr::Unary`]
/// operator index selects from.
pub fn unary_operators() -> impl Iterator<Item = &'static str> {
    backends::UNARY_OPS.iter().map(|op| op.symbol())
}
