//! Code generated in parts on several threads joins into exactly what one
//! thread emits (`codegen::shards`): random programs of the shared
//! generator (`exprjit-testgen`), compiled in 1, 2, 3 and 7 parts with
//! every option, must give the same bytes and the same code map.
//!
//! `EXPRJIT_PARTS_PROGRAMS=N` compares N programs instead of the default.

mod common;

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

use exprjit::codegen::Options;
use exprjit::internals::{Artifact, compile_in_parts};
use exprjit::pipeline::{Timings, front_end};
use exprjit_testgen::{RawProgram, render, strategy};

/// The artifact as one comparable text: the code's bytes and every field
/// of the map.
fn dump(artifact: &Artifact) -> String {
    format!("{:02x?}\n{:#?}", artifact.code, artifact.map)
}

fn assert_parts_agree(source: &str, options: Options) {
    let program = front_end(source, &mut Timings::default()).expect("generated programs are valid");
    let one = dump(&compile_in_parts(&program, options, 1));
    for parts in [2, 3, 7] {
        let many = dump(&compile_in_parts(&program, options, parts));
        assert!(
            one == many,
            "{parts} parts differ from one with {options:?} for:\n{source}"
        );
    }
}

fn options(case: usize) -> Options {
    Options {
        batch_entries: case & 1 != 0,
        debug_info: case & 2 != 0,
        function_table: None,
        no_inlining: case & 4 != 0,
    }
}

#[test]
fn random_programs_in_parts_are_what_one_thread_emits() {
    let rng = TestRng::deterministic_rng(RngAlgorithm::XorShift);
    let mut runner = TestRunner::new_with_rng(Config::default(), rng);
    for case in 0..common::env_count("EXPRJIT_PARTS_PROGRAMS", 60) as usize {
        let program = strategy::program().new_tree(&mut runner).unwrap().current();
        assert_parts_agree(&render(&program), options(case));
    }
}

#[test]
fn programs_from_arbitrary_bytes_in_parts_are_what_one_thread_emits() {
    // Deeper and wider trees than the strategy draws.
    let mut next = exprjit_testgen::xorshift(0x5eed);
    for case in 0..common::env_count("EXPRJIT_PARTS_PROGRAMS", 60) as usize / 2 {
        let bytes: Vec<u8> = (0..1024).map(|_| next(256) as u8).collect();
        assert_parts_agree(&render(&RawProgram::from_bytes(&bytes)), options(case));
    }
}
