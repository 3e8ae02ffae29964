//! Code generation: the x86-64 instruction encoder ([`x64`]) and the
//! lowering of checked programs onto it ([`lower`]).

pub mod analysis;
pub mod divide;
pub mod lower;
pub mod regs;
pub mod x64;
