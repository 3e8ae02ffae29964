//! Redefining a function over and over must not leak: each entry's code is
//! unmapped when no function in it is live any more.

mod common;

use exprjit::session::Session;

/// The tests map and unmap code all the time: one at a time, so that an
/// address one of them sees unmapped is not mapped again by the other.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn redefining_a_function_many_times_keeps_memory_bounded() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
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

/// Whether `address` lies in a mapping of this process.
fn is_mapped(address: u64) -> bool {
    let maps = std::fs::read_to_string("/proc/self/maps").expect("/proc/self/maps");
    maps.lines().any(|line| {
        let range = line.split_whitespace().next().unwrap_or_default();
        let Some((from, to)) = range.split_once('-') else {
            return false;
        };
        let parse = |hex| u64::from_str_radix(hex, 16).unwrap_or(0);
        (parse(from)..parse(to)).contains(&address)
    })
}

#[test]
fn a_module_is_unmapped_when_none_of_its_functions_is_live() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut session = Session::new();
    let defined = |session: &mut Session, text: &str| {
        let outcome = session.eval("<entry>", text, None);
        assert!(outcome.failure.is_none(), "{text}: {:?}", outcome.failure);
        outcome.replies
    };
    // `f` calls itself, so no caller has a copy of it inlined: replacing
    // it compiles nothing else again.
    let f = |add: i64| format!("fn f(x) = if x > 1000 then f(x - 1) else x + {add}");
    defined(&mut session, &format!("{}; fn g(x) = f(x) * 10", f(1)));
    let first = session.code_address("f").expect("compiled");
    assert!(is_mapped(first));
    // `g` is still live in the first entry's module: it stays.
    defined(&mut session, &f(2));
    assert_eq!(session.code_modules(), 2);
    assert!(is_mapped(first));
    // g(1) runs the new f: the first module's g calls through its f's
    // redirected entry.
    let replies = defined(&mut session, "g(1)");
    assert_eq!(replies, [exprjit::session::Reply::Value(30)]);
    // An entry of top-level expressions only keeps no module.
    assert_eq!(session.code_modules(), 2);
    // Replacing g too leaves nothing live in the first module.
    defined(&mut session, "fn g(x) = f(x) * 100");
    assert_eq!(session.code_modules(), 2);
    assert!(!is_mapped(first), "the first entry's code is still mapped");
    let second = session.code_address("f").expect("compiled");
    defined(&mut session, &f(3));
    assert!(
        !is_mapped(second),
        "the second entry's code is still mapped"
    );
    assert_eq!(
        defined(&mut session, "g(1)"),
        [exprjit::session::Reply::Value(400)]
    );
}

#[test]
fn replacing_an_inlined_function_compiles_its_callers_again() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut session = Session::new();
    let mut value = |text: &str| {
        let outcome = session.eval("<entry>", text, None);
        assert!(outcome.failure.is_none(), "{text}: {:?}", outcome.failure);
        outcome.replies.last().cloned()
    };
    // `g` has a copy of the small `f` inlined.
    value("fn f(x) = x + 1; fn g(x) = f(x) * 10; fn h(x) = x");
    assert_eq!(value("g(1)"), Some(exprjit::session::Reply::Value(20)));
    value("fn f(x) = x + 2");
    assert_eq!(value("g(1)"), Some(exprjit::session::Reply::Value(30)));
    // `h` stays where it was; `g` was compiled again in a module of its own.
    assert_eq!(session.code_modules(), 3);
}
