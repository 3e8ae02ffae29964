//! exprjit: a JIT compiler for a small integer expression language.
//!
//! The pipeline, one module per stage (see ARCHITECTURE.md):
//! source → [`lexer`] → [`parser`] → [`ast`] → `check` → `ir` → `codegen` →
//! `jit` → run.

pub mod ast;
pub mod codegen;
pub mod diag;
pub mod lexer;
pub mod parser;
