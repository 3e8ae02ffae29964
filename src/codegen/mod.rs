//! Code generation: the x86-64 instruction encoder ([`x64`]) and the
//! lowering of checked programs onto it ([`lower`]).

pub mod lower;
pub mod x64;
