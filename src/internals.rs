//! Not part of the API: what exprjit's own integration tests, benchmarks
//! and fuzz targets reach into. Compiled only with the `internals` feature,
//! which nothing but those turn on (through the crate's dev-dependency on
//! itself); it may change in any release.

pub use crate::artifact::{Artifact, CodeMap, FuncCode, Symbol, TrapKind, TrapSite};
pub use crate::codegen::{compile, compile_in_parts};
pub use crate::disasm::{disassemble, listing};
