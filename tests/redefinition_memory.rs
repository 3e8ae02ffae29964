//! Redefining a function over and over must not leak: each entry's code is
//! unmapped when the next entry replaces it.

mod common;

use exprjit::session::Session;

#[test]
fn redefining_a_function_many_times_keeps_memory_bounded() {
    // Set EXPRJIT_REDEFINITIONS=100000 for the full-size run.
    let count: usize = common::env_count("EXPRJIT_REDEFINITIONS", 20_000);
    let mut session = Session::new();
    session.eval("<setup>", "fn g(x) = f(x) * 2; fn f(x) = x", None);
    let warm_up = 1_000;
    for i in 0..warm_up {
        session.eval("<entry>", &format!("fn f(x) = x + {i}"), None);
    }
    let before = common::proc_status_kib("self", "VmRSS");
    for i in 0..count {
        let outcome = session.eval("<entry>", &format!("fn f(x) = x + {i}; g(1)"), None);
        assert!(outcome.failure.is_none());
    }
    let after = common::proc_status_kib("self", "VmRSS");
    eprintln!("{count} redefinitions: RSS {before} KiB -> {after} KiB");
    assert!(
        after < before + 16 * 1024,
        "RSS grew from {before} KiB to {after} KiB over {count} redefinitions"
    );
}
