//! exprjit: a JIT compiler for a small integer expression language.
//!
//! # As a library
//!
//! Compile a formula once, then call it as often as you like at the speed
//! of machine code; see [`api`] for the whole API and `docs/errors.md` for
//! the error codes.
//!
//! ```
//! # fn main() -> Result<(), exprjit::Error> {
//! let program = exprjit::compile("fn score(a, b) = a * 3 + b")?;
//! let score = program.func::<2>("score")?; // name and arity checked here
//! assert_eq!(score.call([4, 5])?, 17);
//! assert_eq!(exprjit::eval("1 + 2 * 3")?, 7);
//! # Ok(())
//! # }
//! ```
//!
//! # The compiler
//!
//! The pipeline, one module per stage (see ARCHITECTURE.md):
//! source → [`lexer`] → [`parser`] → [`ast`] → [`check`] → [`ir`] →
//! [`codegen`] → [`jit`] → run. [`pipeline`] strings the stages together and
//! [`diag`] renders every error; [`interp`] runs the checked program without
//! compiling it, as a reference for testing the JIT.

pub(crate) mod abi;
pub mod api;
pub(crate) mod artifact;
pub mod ast;
pub mod check;
pub(crate) mod codegen;
pub mod continuation;
pub mod diag;
pub(crate) mod disasm;
pub mod fault;
#[cfg(feature = "internals")]
#[doc(hidden)]
pub mod internals;
pub mod interp;
pub mod ir;
pub mod jit;
pub mod lexer;
pub mod parser;
pub mod perf_map;
pub mod pipeline;
pub mod repl;
pub mod session;
pub mod suggest;

pub use api::{
    CompileError, Config, Error, ErrorCode, Func, FunctionInfo, Interrupt, LookupError, Program,
    RuntimeError, compile, compile_named, compile_with, eval,
};
