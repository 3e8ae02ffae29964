//! The raw program: what proptest and `arbitrary` draw, before
//! [`render`](crate::render()) gives it meaning.
//!
//! Nothing in a raw tree has to be consistent (indices may be out of range,
//! lists of any length, trees of any depth): every tree renders to a valid,
//! terminating program. That is what lets proptest shrink a tree freely and
//! lets the fuzzer's bytes be any tree.

use std::fmt;

use crate::{MAX_FUNCS, MAX_PARAMS, MAX_WIDE_PARAMS};

#[cfg(feature = "arbitrary")]
use arbitrary::{Arbitrary, Unstructured};

/// A raw expression.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(Arbitrary))]
pub enum RawExpr {
    /// An integer constant.
    Const(#[cfg_attr(feature = "arbitrary", arbitrary(with = arbitrary_constant))] i64),
    /// The variable `index % in_scope` (parameters, then `let` bindings);
    /// an edge constant when none is in scope.
    Var(u8),
    /// The prefix operator `UnOp::ALL[op % 3]`.
    Unary(u8, Box<RawExpr>),
    /// The infix operator `BinOp::ALL[op % 18]`.
    Binary(u8, Box<RawExpr>, Box<RawExpr>),
    /// `if cond then a else b`.
    If(Box<RawExpr>, Box<RawExpr>, Box<RawExpr>),
    /// `let v = value in body`: a fresh name, in scope in the body.
    Let(Box<RawExpr>, Box<RawExpr>),
    /// A call to the callable function picked by the index (see the
    /// renderer: later functions, or in a recursive step the function
    /// itself), with these arguments: missing ones are filled with edge
    /// constants, extra ones dropped. With nothing callable within the
    /// budget, the first argument (or a constant) stands in its place.
    Call(u8, Vec<RawExpr>),
}

/// How a function is built around its raw body.
///
/// In the recursive shapes the first parameter `p0` is the bound and
/// `B` is [`RECURSION_BOUND`](crate::RECURSION_BOUND) or
/// [`LOOP_BOUND`](crate::LOOP_BOUND): the guard `(p0 % B) <= 0` holds for
/// every `p0 <= 0` and the self-call passes `(p0 % B) - 1`, so the bound
/// decreases strictly and the recursion ends within `B` levels, whatever
/// the arguments. To add a shape, see the crate documentation.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(Arbitrary))]
pub enum Shape {
    /// `fn f(...) = BODY`.
    Plain,
    /// `fn f(p0, ...) = if (p0 % B) <= 0 then BODY else STEP`, where STEP
    /// (the first raw step expression, or the body again) may call
    /// `f((p0 % B) - 1, ...)` at up to
    /// [`MAX_SELF_CALLS`](crate::MAX_SELF_CALLS) sites: bounded, possibly
    /// branching recursion.
    Recursive,
    /// `fn f(p0, ...) = if (p0 % B) <= 0 then BODY else f((p0 % B) - 1,
    /// STEP...)`: a loop as a tail call, the raw step expressions being the
    /// other parameters' new values (a parameter without one is passed on
    /// unchanged).
    Loop,
    /// [`Shape::Loop`] with 7 to [`MAX_WIDE_PARAMS`] parameters, whatever
    /// [`MAX_PARAMS`]: the loop's parameters past the
    /// sixth arrive on the stack. A parameter without a step expression
    /// takes the next one's value (the last takes `p1`'s): the parameters
    /// rotate, through registers and stack slots alike.
    WideLoop,
    /// `fn f(p0, ...) = if (p0 % B) <= 0 then BODY else (STEP +
    /// f((p0 % B) - 1, ...))`: a self call whose value is added to the
    /// step's, in tail position, which the code generator turns into a loop
    /// with an accumulator (when no return position calls another
    /// function).
    Accumulating,
    /// `fn f(...) = (BODY) / pN` or `% pN` (the last parameter), with a
    /// body of at most [`HELPER_DEPTH`](crate::HELPER_DEPTH) levels: a
    /// small function the code generator expands at its call sites, whose
    /// division traps (an edge argument is 0) inside its callers' code.
    Helper,
}

impl Shape {
    /// Every shape.
    pub const ALL: [Shape; 6] = [
        Shape::Plain,
        Shape::Recursive,
        Shape::Loop,
        Shape::WideLoop,
        Shape::Accumulating,
        Shape::Helper,
    ];

    /// How often proptest draws this shape, relative to the others.
    pub fn weight(self) -> u32 {
        match self {
            Shape::Plain => 3,
            Shape::Recursive | Shape::Helper => 2,
            Shape::Loop | Shape::WideLoop | Shape::Accumulating => 1,
        }
    }

    /// The fewest parameters a function of this shape has (the recursive
    /// shapes need their bound, a helper its divisor).
    pub fn min_params(self) -> usize {
        match self {
            Shape::Plain => 0,
            Shape::Recursive | Shape::Loop | Shape::Accumulating | Shape::Helper => 1,
            Shape::WideLoop => 7,
        }
    }
}

/// A raw function definition.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(Arbitrary))]
pub struct RawFunc {
    /// How the body is used.
    pub shape: Shape,
    /// Parameters: `params % (MAX_PARAMS + 1)`, at least the shape's
    /// [`Shape::min_params`].
    pub params: u8,
    /// The body; in the recursive shapes, the base case.
    pub body: RawExpr,
    /// The recursive step ([`Shape::Recursive`], the added value of
    /// [`Shape::Accumulating`]) or the loop's new argument values
    /// ([`Shape::Loop`], [`Shape::WideLoop`], the rest of
    /// [`Shape::Accumulating`]'s step); unused by [`Shape::Plain`] and
    /// [`Shape::Helper`].
    pub step: Vec<RawExpr>,
}

/// A raw program: functions `f0, f1, ...`, then top-level expressions.
///
/// Its `Debug` form is the rendered source, which is what a failure report
/// (proptest's minimal input, a fuzz artifact) needs; the tree itself is in
/// its fields.
#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(Arbitrary))]
pub struct RawProgram {
    /// At most [`MAX_FUNCS`] are used.
    pub funcs: Vec<RawFunc>,
    /// At most [`MAX_TOP_LEVEL`](crate::MAX_TOP_LEVEL) are used. With
    /// none, every function is called once (so that a fuzz input whose
    /// bytes all went to functions still runs them); with no functions
    /// either, the program is `0`.
    pub top_level: Vec<RawExpr>,
}

impl RawFunc {
    /// The number of parameters the rendered function has: for a
    /// [`Shape::WideLoop`] 7 to [`MAX_WIDE_PARAMS`], for a [`Shape::Helper`]
    /// 1 to 3.
    pub fn param_count(&self) -> usize {
        let params = usize::from(self.params);
        match self.shape {
            Shape::WideLoop => 7 + params % (MAX_WIDE_PARAMS - 6),
            Shape::Helper => 1 + params % 3,
            _ => (params % (MAX_PARAMS + 1)).max(self.shape.min_params()),
        }
    }
}

impl RawProgram {
    /// The functions that are rendered (the first
    /// [`MAX_FUNCS`]): function `fN` is the `N`th.
    pub fn rendered_funcs(&self) -> &[RawFunc] {
        &self.funcs[..self.funcs.len().min(MAX_FUNCS)]
    }
}

impl fmt::Debug for RawProgram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\n{}", crate::render(self))
    }
}

#[cfg(feature = "arbitrary")]
impl RawProgram {
    /// The raw program `arbitrary` makes of `bytes`, as the fuzz target's
    /// `fuzz_target!(|program: RawProgram| ...)` does. Any bytes make one.
    pub fn from_bytes(bytes: &[u8]) -> RawProgram {
        RawProgram::arbitrary_take_rest(Unstructured::new(bytes))
            .expect("the derived impls accept any input")
    }
}

/// A constant the way the test generators always drew them: mostly edge
/// values and small numbers, sometimes any `i64`.
#[cfg(feature = "arbitrary")]
fn arbitrary_constant(u: &mut Unstructured<'_>) -> arbitrary::Result<i64> {
    Ok(match u.int_in_range(0..=8u8)? {
        0..=3 => *u.choose(&crate::EDGES)?,
        4..=7 => u.int_in_range(-20..=20)?,
        _ => i64::arbitrary(u)?,
    })
}
