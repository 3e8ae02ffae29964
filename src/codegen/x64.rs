//! The x86-64 instruction encoder (to be written).
