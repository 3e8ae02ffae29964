//! exprjit: a JIT compiler for a small integer expression language.
//!
//! The pipeline, one module per stage (see ARCHITECTURE.md):
//! source → [`lexer`] → [`parser`] → [`ast`] → [`check`] → [`ir`] →
//! [`codegen`] → [`jit`] → run. [`pipeline`] strings the stages together and
//! [`diag`] renders every error; [`interp`] runs the checked program without
//! compiling it, as a reference for testing the JIT.

pub mod ast;
pub mod check;
pub mod codegen;
pub mod diag;
pub mod disasm;
pub mod interp;
pub mod ir;
pub mod jit;
pub mod lexer;
pub mod parser;
pub mod pipeline;
pub mod repl;
pub mod runtime_error;
pub mod session;
