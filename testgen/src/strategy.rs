//! proptest strategies for the raw types (feature `proptest`).
//!
//! They only choose what is likely to be interesting (edge constants, calls
//! as operands, shapes by weight); validity is the renderer's business, so
//! shrinking, which may produce any tree, still yields programs.
//!
//! A [`Disagreement`](crate::Disagreement) is an `std::error::Error`, so a
//! proptest body can write `agree(&source, &[])?`.

use proptest::prelude::*;
use proptest::strategy::Union;

use crate::backends::{BINARY_OPS, UNARY_OPS};
use crate::{EDGES, MAX_PARAMS, RawExpr, RawFunc, RawProgram, Shape};

/// A constant: mostly [`EDGES`] and small numbers, sometimes any `i64`.
pub fn constant() -> impl Strategy<Value = i64> {
    prop_oneof![
        4 => prop::sample::select(&EDGES[..]),
        4 => -20i64..=20,
        1 => any::<i64>(),
    ]
}

fn binary_op() -> impl Strategy<Value = u8> {
    0..BINARY_OPS.len() as u8
}

fn unary_op() -> impl Strategy<Value = u8> {
    0..UNARY_OPS.len() as u8
}

/// An expression tree of up to five levels with every operator, `if`,
/// `let`, variables and calls of up to nine arguments.
pub fn expr() -> impl Strategy<Value = RawExpr> {
    let leaf = prop_oneof![
        2 => constant().prop_map(RawExpr::Const),
        3 => any::<u8>().prop_map(RawExpr::Var),
    ];
    leaf.prop_recursive(5, 40, 4, |inner| {
        prop_oneof![
            2 => (unary_op(), inner.clone())
                .prop_map(|(op, e)| RawExpr::Unary(op, Box::new(e))),
            6 => (binary_op(), inner.clone(), inner.clone())
                .prop_map(|(op, l, r)| RawExpr::Binary(op, Box::new(l), Box::new(r))),
            2 => (inner.clone(), inner.clone(), inner.clone())
                .prop_map(|(c, t, e)| RawExpr::If(Box::new(c), Box::new(t), Box::new(e))),
            1 => (inner.clone(), inner.clone())
                .prop_map(|(v, b)| RawExpr::Let(Box::new(v), Box::new(b))),
            2 => (any::<u8>(), prop::collection::vec(inner, 0..=9))
                .prop_map(|(callee, args)| RawExpr::Call(callee, args)),
        ]
    })
}

/// A call, alone or as an operand: what makes recursion and loops happen
/// (and puts calls in tail position).
pub fn call() -> impl Strategy<Value = RawExpr> {
    let call = || {
        (any::<u8>(), prop::collection::vec(expr(), 0..=9))
            .prop_map(|(callee, args)| RawExpr::Call(callee, args))
    };
    let binary = |(op, l, r)| RawExpr::Binary(op, Box::new(l), Box::new(r));
    prop_oneof![
        2 => call(),
        2 => (binary_op(), call(), expr()).prop_map(binary),
        1 => (binary_op(), call(), call()).prop_map(binary),
    ]
}

/// A shape, drawn by [`Shape::weight`].
pub fn shape() -> impl Strategy<Value = Shape> {
    Union::new_weighted(
        Shape::ALL
            .iter()
            .map(|&shape| (shape.weight(), Just(shape)))
            .collect(),
    )
}

/// A function: any shape, 0 to [`MAX_PARAMS`] parameters.
pub fn func() -> impl Strategy<Value = RawFunc> {
    (
        shape(),
        0..=MAX_PARAMS as u8,
        prop_oneof![2 => expr(), 1 => call()],
        prop::collection::vec(prop_oneof![expr(), call()], 0..=MAX_PARAMS),
    )
        .prop_map(|(shape, params, body, step)| RawFunc {
            shape,
            params,
            body,
            step,
        })
}

/// A program of 1 to 5 functions and 1 to 4 top-level expressions, mostly
/// calls.
pub fn program() -> impl Strategy<Value = RawProgram> {
    (
        prop::collection::vec(func(), 1..=5),
        prop::collection::vec(prop_oneof![2 => call(), 1 => expr()], 1..=4),
    )
        .prop_map(|(funcs, top_level)| RawProgram { funcs, top_level })
}
