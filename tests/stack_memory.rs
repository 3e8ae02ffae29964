//! A stack overflow must not pin the stack it ran through: after the error
//! the thread (a library thread, or the REPL's) gives the touched pages
//! back, so its resident memory returns to a few megabytes. Measured with
//! `/proc/.../status` (VmRSS), in a test binary of its own so that no other
//! test's memory is counted. A smaller configured stack overflows sooner.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const RUNAWAY: &str = "fn down(n) = 1 + down(n - 1)";

/// The tests in this process measure its memory, so they take turns.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn take_turn() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Reads lines from `input` until one contains `wanted`.
fn read_until(input: &mut impl BufRead, wanted: &str) -> String {
    let mut line = String::new();
    while !line.contains(wanted) {
        line.clear();
        assert_ne!(input.read_line(&mut line).unwrap(), 0, "no {wanted:?}");
    }
    line
}

#[test]
fn library_threads_give_their_stack_back_after_an_overflow() {
    let _turn = take_turn();
    let program = exprjit::compile(RUNAWAY).unwrap();
    let down = program.func::<1>("down").unwrap();
    let before = common::proc_status_mib("self", "VmRSS");
    let start = Instant::now();
    assert_eq!(
        down.call([0]).unwrap_err().code(),
        exprjit::ErrorCode::StackOverflow
    );
    let first_overflow = start.elapsed();
    let after = common::proc_status_mib("self", "VmRSS");
    println!("RSS {before:.1} MiB before, {after:.1} MiB after an overflow ({first_overflow:?})");
    assert!(after < before + 16.0, "{before:.1} -> {after:.1} MiB");

    // Long-lived workers, each after one runaway call, hold a few
    // megabytes between them (each held 1 GiB). Two are enough to show it
    // and keep the test quick (each overflow faults in a gigabyte).
    const WORKERS: usize = 2;
    let measured = std::sync::Barrier::new(WORKERS + 1);
    std::thread::scope(|scope| {
        let (ready, overflowed) = std::sync::mpsc::channel();
        for _ in 0..WORKERS {
            let (ready, measured) = (ready.clone(), &measured);
            scope.spawn(move || {
                ready.send(down.call([0]).unwrap_err().code()).unwrap();
                // Stay alive (keeping the thread's stack) until measured.
                measured.wait();
            });
        }
        for _ in 0..WORKERS {
            assert_eq!(
                overflowed.recv().unwrap(),
                exprjit::ErrorCode::StackOverflow
            );
        }
        let with_workers = common::proc_status_mib("self", "VmRSS");
        println!("RSS with {WORKERS} workers after their overflows: {with_workers:.1} MiB");
        measured.wait();
        assert!(with_workers < before + 32.0, "{with_workers:.1} MiB");
    });
}

#[test]
fn a_small_stack_overflows_soon_and_a_deep_one_still_works() {
    let _turn = take_turn();
    let source = "fn down(n) = if n == 0 then 0 else 1 + down(n - 1)";
    let small = exprjit::Config::new().with_stack_size(1 << 20);
    let program = exprjit::compile_with(source, &small).unwrap();
    let down = program.func::<1>("down").unwrap();
    assert_eq!(down.call([10_000]), Ok(10_000));
    let start = Instant::now();
    let error = down.call([100_000_000]).unwrap_err();
    assert_eq!(error.code(), exprjit::ErrorCode::StackOverflow);
    println!("overflow of a 1 MiB stack after {:?}", start.elapsed());
    assert!(start.elapsed() < Duration::from_secs(1));

    // The default stack, on the same thread, is the whole gigabyte again.
    let program = exprjit::compile(source).unwrap();
    let down = program.func::<1>("down").unwrap();
    assert_eq!(down.call([1_000_000]), Ok(1_000_000));
}

#[test]
fn the_repl_gives_its_stack_back_after_an_overflow() {
    let mut repl = Command::new(env!("CARGO_BIN_EXE_exprjit"))
        .args(["-i", "--color", "never"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start exprjit -i");
    let pid = repl.id().to_string();
    let mut stdin = repl.stdin.take().unwrap();
    let mut stdout = BufReader::new(repl.stdout.take().unwrap());
    let mut stderr = BufReader::new(repl.stderr.take().unwrap());
    writeln!(stdin, "{RUNAWAY}").unwrap();
    read_until(&mut stdout, "defined down(n)");
    let before = common::proc_status_mib(&pid, "VmRSS");
    writeln!(stdin, "down(0)").unwrap();
    read_until(&mut stderr, "stack overflow in function 'down'");
    // The error is printed once the call has returned and its stack has
    // been given back; the next entry's value shows the REPL is idle.
    writeln!(stdin, "20 + 22").unwrap();
    read_until(&mut stdout, "42");
    let after = common::proc_status_mib(&pid, "VmRSS");
    println!("REPL RSS {before:.1} MiB before, {after:.1} MiB after an overflow");
    assert!(after < before + 16.0, "{before:.1} -> {after:.1} MiB");
    drop(stdin);
    assert!(repl.wait().unwrap().success());
}
