//! The library API end to end: threads sharing one program, interrupts from
//! another thread, errors as values, and the program's code going away.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use exprjit::{ErrorCode, Interrupt, Program};

const FORMULAS: &str = "\
# the scoring rule of a game
fn score(hits, misses) = hits * 10 - misses * 3 + bonus(hits)
fn bonus(hits) = if hits >= 10 then 50 else 0
fn ratio(a, b) = a / b
fn depth(n) = if n == 0 then 0 else 1 + depth(n - 1)
fn forever(n) = forever(n + 1)
";

fn score_native(hits: i64, misses: i64) -> i64 {
    hits * 10 - misses * 3 + if hits >= 10 { 50 } else { 0 }
}

#[test]
fn threads_call_one_function_concurrently() {
    let program = exprjit::compile(FORMULAS).unwrap();
    let score = program.func::<2>("score").unwrap();
    let depth = program.func::<1>("depth").unwrap();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..4i64)
            .map(|worker| {
                scope.spawn(move || {
                    for i in 0..20_000 {
                        let hits = (i * 7 + worker) % 23;
                        let misses = (i * 3 + worker) % 11;
                        assert_eq!(score.call([hits, misses]), Ok(score_native(hits, misses)));
                    }
                    // Deep recursion on every thread at once: each has its own
                    // JIT stack, so none overflows another's.
                    assert_eq!(depth.call([200_000 + worker]), Ok(200_000 + worker));
                })
            })
            .collect();
        for worker in workers {
            worker.join().unwrap();
        }
    });
}

#[test]
fn a_program_moves_to_another_thread_and_is_shared_through_arc() {
    let program: Arc<Program> = Arc::new(exprjit::compile(FORMULAS).unwrap());
    let handles: Vec<_> = (0..3)
        .map(|i| {
            let program = Arc::clone(&program);
            std::thread::spawn(move || program.func::<2>("ratio").unwrap().call([100, i + 1]))
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(results, [Ok(100), Ok(50), Ok(33)]);
}

#[test]
fn runtime_errors_on_one_thread_do_not_disturb_another() {
    let program = exprjit::compile(FORMULAS).unwrap();
    let ratio = program.func::<2>("ratio").unwrap();
    let depth = program.func::<1>("depth").unwrap();
    std::thread::scope(|scope| {
        let failing = scope.spawn(|| {
            for _ in 0..1000 {
                assert_eq!(
                    ratio.call([1, 0]).unwrap_err().code(),
                    ErrorCode::DivisionByZero
                );
            }
            assert_eq!(
                depth.call([100_000_000]).unwrap_err().code(),
                ErrorCode::StackOverflow
            );
        });
        let working = scope.spawn(|| {
            for i in 1..10_000 {
                assert_eq!(ratio.call([i * 6, 3]), Ok(i * 2));
            }
        });
        failing.join().unwrap();
        working.join().unwrap();
    });
    // And the thread that trapped can call again afterwards.
    assert_eq!(
        ratio.call([1, 0]).unwrap_err().code(),
        ErrorCode::DivisionByZero
    );
    assert_eq!(ratio.call([9, 3]), Ok(3));
}

#[test]
fn another_thread_interrupts_a_long_call() {
    let program = exprjit::compile(FORMULAS).unwrap();
    let forever = program.func::<1>("forever").unwrap();
    let interrupt = Interrupt::new();
    let started = AtomicBool::new(false);
    let start = Instant::now();
    let error = std::thread::scope(|scope| {
        let call = scope.spawn(|| {
            started.store(true, Ordering::SeqCst);
            forever.call_interruptible([0], &interrupt)
        });
        // A request made before the call starts is forgotten, so keep asking
        // until the call has ended.
        while !call.is_finished() {
            if started.load(Ordering::SeqCst) {
                interrupt.request();
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        call.join().unwrap().unwrap_err()
    });
    assert_eq!(error.code(), ErrorCode::Interrupted);
    assert_eq!(error.line_col(), None);
    assert_eq!(error.to_string(), "interrupted");
    assert!(start.elapsed() < Duration::from_secs(30));
    // The interrupt and the thread's stack are ready for the next call.
    let ratio = program.func::<2>("ratio").unwrap();
    assert_eq!(ratio.call_interruptible([8, 2], &interrupt), Ok(4));
    assert_eq!(ratio.call([8, 4]), Ok(2));
}

#[test]
fn an_interrupt_serves_one_call_at_a_time() {
    let program = exprjit::compile(FORMULAS).unwrap();
    let forever = program.func::<1>("forever").unwrap();
    let ratio = program.func::<2>("ratio").unwrap();
    let interrupt = Interrupt::new();
    std::thread::scope(|scope| {
        let long = scope.spawn(|| {
            // The short calls below may hold the interrupt for a moment.
            loop {
                match forever.call_interruptible([0], &interrupt) {
                    Err(error) if error.code() == ErrorCode::InterruptInUse => {
                        std::thread::yield_now()
                    }
                    ended => break ended,
                }
            }
        });
        // Wait until the long call holds the interrupt; then a second call
        // with it is refused instead of waiting.
        let refused = loop {
            match ratio.call_interruptible([1, 1], &interrupt) {
                Err(error) => break error,
                Ok(_) => std::thread::yield_now(),
            }
        };
        assert_eq!(refused.code(), ErrorCode::InterruptInUse);
        while !long.is_finished() {
            interrupt.request();
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(
            long.join().unwrap().unwrap_err().code(),
            ErrorCode::Interrupted
        );
    });
}

#[test]
fn errors_render_like_the_command_line() {
    let error = exprjit::compile_named(
        "rules.ex",
        "fn f(x) = x +* 1\nfn h(x) = x\nfn g(y) = h(y, y)",
    )
    .unwrap_err();
    let text = error.to_string();
    assert!(
        text.starts_with("error[E0005]: expected an expression, found `*`\n"),
        "{text}"
    );
    assert!(text.contains("┌─ rules.ex:1:14"), "{text}");
    assert!(
        text.contains("error[E0012]: function 'h' takes 1 argument but 2 were given"),
        "{text}"
    );
    assert!(text.contains("defined here as h(x)"), "{text}");
    assert!(!text.contains('\x1b'), "Display is plain: {text:?}");
    assert!(error.render_coloured().contains('\x1b'));
    let boxed: Box<dyn std::error::Error> = Box::new(error);
    assert!(boxed.to_string().contains("rules.ex"));
}

#[test]
fn runtime_errors_point_into_the_source() {
    let program = exprjit::compile_named("rules.ex", FORMULAS).unwrap();
    let depth = program.func::<1>("depth").unwrap();
    let error = depth.call([i64::MAX]).unwrap_err();
    assert_eq!(error.code(), ErrorCode::StackOverflow);
    assert_eq!(error.line_col(), Some((5, 4)));
    assert_eq!(
        error.to_string(),
        "stack overflow in function 'depth' at rules.ex:5:4"
    );
    assert!(
        error.render().contains("5 │ fn depth(n)"),
        "{}",
        error.render()
    );
}

#[test]
fn many_programs_come_and_go() {
    // Each program has its own code pages, unmapped on drop (see the unit
    // test in src/api.rs); programs are independent of each other.
    for i in 0..2000 {
        let program = exprjit::compile(&format!("fn f(x) = x + {i}")).unwrap();
        assert_eq!(program.func::<1>("f").unwrap().call([1]), Ok(i + 1));
    }
}

#[test]
fn threads_compile_long_sources_at_once() {
    // Long sources go to the shared compiler thread; its queue serves every
    // caller its own program.
    std::thread::scope(|scope| {
        for worker in 0..4i64 {
            scope.spawn(move || {
                for i in 0..10 {
                    let padding = "# a long comment pushes this past the inline limit\n".repeat(4);
                    let source = format!("{padding}fn f(x) = x * {worker} + {i}");
                    let program = exprjit::compile(&source).unwrap();
                    assert_eq!(
                        program.func::<1>("f").unwrap().call([10]),
                        Ok(10 * worker + i)
                    );
                }
            });
        }
    });
}
