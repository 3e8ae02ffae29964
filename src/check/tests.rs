//! Checking as the source is read, on parts parsed apart, gives what
//! checking the whole parsed program at once gives.

use super::*;
use crate::parser;

/// The outcome of checking `source` the way the pipeline does, with the
/// source cut into `parts` parts, errors included.
fn checked_in_parts(source: &str, parts: usize) -> String {
    let (parsed, sinks) = parser::parse_into_parts(source, parts, &ItemChecker::default);
    let checked = join_parts(sinks, &NoEnvironment, &parsed.broken_definitions);
    format!("{checked:?}\n{:?}", parsed.errors)
}

/// The outcome of parsing all of `source`, then checking its tree.
fn checked_whole(source: &str) -> String {
    let parsed = parser::parse(source);
    let checked = check_with(&parsed.program, &NoEnvironment, &parsed.broken_definitions);
    format!("{checked:?}\n{:?}", parsed.errors)
}

fn assert_parts_agree(source: &str) {
    let whole = checked_whole(source);
    for parts in [1, 2, 3, 7] {
        let apart = checked_in_parts(source, parts);
        assert!(apart == whole, "{parts} parts differ from the whole program");
        // The same with every call resolved by the join's replay, not on
        // the parts' threads (`join::apart`).
        join::REPLAY_ALWAYS.set(true);
        let replayed = checked_in_parts(source, parts);
        join::REPLAY_ALWAYS.set(false);
        assert!(replayed == apart, "{parts} parts: the replay differs from resolving apart");
    }
}

#[test]
fn parts_check_as_the_whole_program_does() {
    // Calls forward and backward across every cut, and top-level
    // expressions between definitions.
    let mut source = String::new();
    for i in 0..2000 {
        source.push_str(&format!(
            "fn f{i}(a, b) = let c = a * {i} in if c < b then f{}(b, c) else g{}(a)\n",
            (i + 1) % 2000,
            i % 7
        ));
        if i % 300 == 0 {
            source.push_str(&format!("f{i}(1, 2) + -9223372036854775808\n"));
        }
    }
    for g in 0..7 {
        source.push_str(&format!("fn g{g}(x) = x / {}\n", g + 1));
    }
    assert_parts_agree(&source);
}

#[test]
fn parts_report_the_errors_the_whole_program_does() {
    let mut source = String::new();
    for i in 0..1500 {
        source.push_str(&format!("fn f{i}(a, b) = a + f{}(b, a)\n", (i + 1) % 1500));
        match i % 101 {
            // Every error the checker reports, in every part.
            0 => source.push_str("fn f3(x) = x\n"),
            1 => source.push_str(&format!("fn h{i}(x, x) = y + f0(x)\n")),
            2 => source.push_str("f1(1, 2, 3) + nope(4) + fbi(5)\n"),
            3 => source.push_str("fn k(p) = p + f2 + q\n"),
            4 => source.push_str("9223372036854775808 + broken(1)\n"),
            5 => source.push_str("fn broken(x) = x <\n"),
            6 => source.push_str("fn late(a) = let a1 = 1 in a2 + b1\n"),
            _ => {}
        }
    }
    assert!(checked_whole(&source).contains("Err("));
    assert_parts_agree(&source);
    assert_parts_agree("");
    assert_parts_agree("fn f(x) = g(x)\nfn g(y) = y\nf(1)\nfn f(z) = z");
    // A duplicate definition whose calls all resolve: the only error is
    // the duplicate's.
    let mut duplicates = String::new();
    for i in 0..900 {
        duplicates.push_str(&format!("fn f{i}(a) = f{}(a) + 1\nfn f{}(b) = f0(b)\n", (i + 1) % 900, i / 2));
    }
    assert_parts_agree(&duplicates);
}
