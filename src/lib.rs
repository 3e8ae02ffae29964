//! exprjit: a JIT compiler for a small integer expression language.
//!
//! The pipeline, one module per stage (see ARCHITECTURE.md):
//! source → [`lexer`] → [`parser`] → [`ast`] → [`check`] → [`ir`] →
//! [`codegen`] → [`jit`] → run. [`pipeline`] strings the stages together and
//! [`diag`] renders every error.

pub mod api;
pub mod ast;
pub mod check;
pub mod codegen;
pub mod diag;
pub mod disasm;
pub mod ir;
pub mod jit;
pub mod lexer;
pub mod parser;
pub mod pipeline;
pub mod repl;
pub mod session;
pub mod suggest;

pub use api::{
    CompileError, Error, ErrorCode, Func, FunctionInfo, Interrupt, LookupError, Program,
    RuntimeError, compile, compile_named, eval,
};
