//! Code generation: the x86-64 instruction encoder ([`x64`]) and the
//! lowering of checked programs onto it.

pub mod x64;
