//! A profiling aid, not a timed benchmark: one million calls of a formula
//! per round, in a loop shaped like `benches/formula.rs`'s, with nothing
//! else around it, for `valgrind --tool=callgrind` (instruction counts,
//! which load does not disturb) and `perf record -e cpu-clock`.
//!
//! ```text
//! cargo bench --bench call_loop --no-run
//! valgrind --tool=callgrind target/release/deps/call_loop-* FORMULA MODE ROUNDS
//! ```
//!
//! `FORMULA` is `arith` (`a * 3 + b - (a / (b | 1))`), `checked`
//! (`a * 3 + b - a / (b * b + 1)`, whose division can trap) or `if`;
//! `MODE` is `typed` (`Func::call`), `dyn` (`DynFunc::call` on a slice
//! whose length the compiler cannot see) or `native` (an opaque closure).
//! The instructions per call are the difference between two runs with
//! different `ROUNDS`, divided by the extra calls: the README's second
//! table was made so (`ROUNDS` 1 and 3). Without arguments (as `cargo
//! bench` runs it) it makes one round of each and prints the sums.

use std::hint::black_box;

#[path = "common/workloads.rs"]
#[allow(dead_code)]
mod workloads;

const CALLS: usize = 1_000_000;

fn source(formula: &str) -> &'static str {
    match formula {
        "if" => "fn f(a, b) = if a > b then a - b else b * 2 + a",
        "checked" => "fn f(a, b) = a * 3 + b - a / (b * b + 1)",
        _ => "fn f(a, b) = a * 3 + b - (a / (b | 1))",
    }
}

fn native(formula: &str) -> fn(i64, i64) -> i64 {
    match formula {
        "if" => |a, b| {
            if a > b {
                a.wrapping_sub(b)
            } else {
                b.wrapping_mul(2).wrapping_add(a)
            }
        },
        "checked" => |a, b| {
            a.wrapping_mul(3)
                .wrapping_add(b)
                .wrapping_sub(a.wrapping_div(b.wrapping_mul(b).wrapping_add(1)))
        },
        _ => |a, b| {
            a.wrapping_mul(3)
                .wrapping_add(b)
                .wrapping_sub(a.wrapping_div(b | 1))
        },
    }
}

#[inline(never)]
fn typed_loop(f: &exprjit::Func<'_, 2>, pairs: &[(i64, i64)]) -> i64 {
    let mut sum = 0i64;
    for &(a, b) in pairs {
        sum = sum.wrapping_add(f.call(black_box([a, b])).unwrap_or(0));
    }
    sum
}

#[inline(never)]
fn dyn_loop(f: &exprjit::DynFunc<'_>, pairs: &[(i64, i64)]) -> i64 {
    let len = black_box(2);
    let mut sum = 0i64;
    for &(a, b) in pairs {
        let pair = black_box([a, b]);
        sum = sum.wrapping_add(f.call(&pair[..len]).unwrap_or(0));
    }
    sum
}

#[inline(never)]
fn native_loop(f: &dyn Fn(i64, i64) -> i64, pairs: &[(i64, i64)]) -> i64 {
    let mut sum = 0i64;
    for &(a, b) in pairs {
        sum = sum.wrapping_add(f(a, b));
    }
    sum
}

fn run(formula: &str, mode: &str, rounds: usize, pairs: &[(i64, i64)]) -> i64 {
    let program = exprjit::compile(source(formula)).expect("the formula compiles");
    let typed = program.func::<2>("f").expect("f(a, b)");
    let dynamic = program.func_dyn("f").expect("f(a, b)");
    let function = native(formula);
    let closure = move |a: i64, b: i64| function(a, b);
    let opaque: &dyn Fn(i64, i64) -> i64 = black_box(&closure);
    let mut sum = 0i64;
    for _ in 0..rounds {
        sum = sum.wrapping_add(match mode {
            "dyn" => dyn_loop(&dynamic, pairs),
            "native" => native_loop(opaque, pairs),
            _ => typed_loop(&typed, pairs),
        });
    }
    sum
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let pairs = workloads::argument_pairs(CALLS);
    // `cargo bench` passes `--bench`: then one round of everything.
    if args.is_empty() || args[0].starts_with('-') {
        for formula in ["arith", "checked", "if"] {
            let sums: Vec<i64> = ["typed", "dyn", "native"]
                .iter()
                .map(|mode| run(formula, mode, 1, &pairs))
                .collect();
            assert!(sums.windows(2).all(|w| w[0] == w[1]), "{formula}: {sums:?}");
            println!("{formula}: {}", sums[0]);
        }
        return;
    }
    let rounds = args
        .get(2)
        .map_or(1, |r| r.parse().expect("ROUNDS is a number"));
    println!(
        "{}",
        run(
            &args[0],
            args.get(1).map_or("typed", String::as_str),
            rounds,
            &pairs
        )
    );
}
