//! Differential testing: random well-formed programs run on the JIT and on
//! the reference interpreter must print the same values and stop with the
//! same runtime error (kind, function and location).
//!
//! The programs come from the shared generator, `exprjit-testgen`
//! (`testgen/`): proptest draws a raw tree (functions of 0 to 8
//! parameters in every shape, every operator, `if`, `let`, calls, edge
//! constants), the generator renders it as a valid, terminating program and
//! `agree` runs it on both back ends. Because every tree renders to a valid
//! program, proptest's shrinking yields a minimal failing program.
//!
//! `cargo test` runs 3,000 cases; set `EXPRJIT_DIFF_CASES` for a longer run
//! (e.g. `EXPRJIT_DIFF_CASES=200000 cargo test --release --test
//! differential`). Every bug found is kept as a golden test in
//! `tests/golden/` (the golden suite also runs on both back ends).

mod common;

use std::collections::HashSet;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

use exprjit_testgen::{
    ErrorKind, LOOP_BOUND, RECURSION_BOUND, RawProgram, Shape, agree, assert_agree,
    binary_operators, render, strategy, unary_operators,
};

/// proptest's default random number generator, ChaCha, is most of the
/// run time in an unoptimised build; XorShift is several times quicker and
/// random enough for drawing programs.
fn config() -> Config {
    Config {
        cases: cases(),
        rng_algorithm: RngAlgorithm::XorShift,
        ..Config::default()
    }
}

fn cases() -> u32 {
    common::env_count("EXPRJIT_DIFF_CASES", 3000)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn jit_and_interpreter_agree(program in strategy::program()) {
        agree(&render(&program), &[])?;
    }

    /// Raw programs made from arbitrary bytes, as the fuzz target makes
    /// them: trees of any depth and width, unused fields, empty lists. They
    /// must render to programs too, and the back ends agree on them.
    #[test]
    fn programs_from_arbitrary_bytes_agree(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        agree(&render(&RawProgram::from_bytes(&bytes)), &[])?;
    }
}

/// The generator really produces what the differential test needs.
#[test]
fn generated_programs_cover_the_language() {
    let rng = TestRng::deterministic_rng(RngAlgorithm::XorShift);
    let mut runner = TestRunner::new_with_rng(Config::default(), rng);
    let mut seen = String::new();
    let mut shapes = HashSet::new();
    let mut divisions_by_zero = 0;
    for _ in 0..300 {
        let program = strategy::program().new_tree(&mut runner).unwrap().current();
        shapes.extend(program.funcs.iter().map(|func| func.shape));
        let source = render(&program);
        let agreed = assert_agree(&source, &[]);
        if agreed.stopped_by == Some(ErrorKind::DivisionByZero) {
            divisions_by_zero += 1;
        }
        seen.push_str(&source);
    }
    for op in binary_operators() {
        assert!(seen.contains(&format!(" {op} ")), "never generated {op}");
    }
    for op in unary_operators() {
        // Applied to something other than a literal (`(-5)` is a constant).
        let applied = seen
            .match_indices(&format!("({op}"))
            .any(|(at, text)| !seen[at + text.len()..].starts_with(|c: char| c.is_ascii_digit()));
        assert!(applied, "never generated {op}");
    }
    for shape in Shape::ALL {
        assert!(shapes.contains(&shape), "never generated {shape:?}");
    }
    for needle in [
        "if ".to_string(),
        "let ".to_string(),
        "9223372036854775807".to_string(),
        "(-9223372036854775808)".to_string(),
        // A recursive function's self-call, and a loop's.
        format!("% {RECURSION_BOUND}) - 1"),
        format!("% {LOOP_BOUND}) - 1"),
        // Eight parameters: two passed on the stack.
        "p7".to_string(),
        // A wide loop's eleventh parameter (five on the stack), an
        // accumulating loop's step, a helper's division by a parameter.
        "p10".to_string(),
        " + f".to_string(),
        ") / p".to_string(),
        ") % p".to_string(),
    ] {
        assert!(seen.contains(&needle), "never generated {needle}");
    }
    // Some programs divide by zero, most do not.
    assert!(
        (5..250).contains(&divisions_by_zero),
        "{divisions_by_zero} of 300 programs divided by zero"
    );
}
