//! Redefining a function over and over must not leak: each entry's code is
//! unmapped when the next entry replaces it.

use exprjit::session::Session;

/// Resident set size of this process, in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS line")
}

#[test]
fn redefining_a_function_many_times_keeps_memory_bounded() {
    // Set EXPRJIT_REDEFINITIONS=100000 for the full-size run.
    let count: usize = std::env::var("EXPRJIT_REDEFINITIONS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(20_000);
    let mut session = Session::new();
    session.eval("<setup>", "fn g(x) = f(x) * 2; fn f(x) = x", None);
    let warm_up = 1_000;
    for i in 0..warm_up {
        session.eval("<entry>", &format!("fn f(x) = x + {i}"), None);
    }
    let before = rss_kib();
    for i in 0..count {
        let outcome = session.eval("<entry>", &format!("fn f(x) = x + {i}; g(1)"), None);
        assert!(outcome.failure.is_none());
    }
    let after = rss_kib();
    eprintln!("{count} redefinitions: RSS {before} KiB -> {after} KiB");
    assert!(
        after < before + 16 * 1024,
        "RSS grew from {before} KiB to {after} KiB over {count} redefinitions"
    );
}
