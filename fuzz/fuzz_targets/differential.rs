//! Structured programs run on both back ends: the JIT and the reference
//! interpreter must print the same values and stop with the same runtime
//! error (kind, function and location).
//!
//! The fuzzer's bytes become a raw program of the shared generator,
//! `exprjit-testgen` (`testgen/`), through its `arbitrary` impls; the
//! generator renders any raw program as a valid program that terminates
//! quickly, and its `agree` check runs it on both back ends. So every input
//! is a valid, terminating program, and any disagreement, panic or program
//! that fails to compile is a bug. The same raw type, renderer and check
//! serve the proptest differential test (`tests/differential.rs`), which
//! replays raw programs from bytes in the same way.

#![no_main]

use libfuzzer_sys::fuzz_target;

use exprjit_testgen::{RawProgram, agree, render};

fuzz_target!(|program: RawProgram| {
    if let Err(disagreement) = agree(&render(&program), &[]) {
        panic!("{disagreement}");
    }
});
