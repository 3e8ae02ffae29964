//! Calling a compiled formula a million times: exprjit's [`exprjit::Func`]
//! handle against `evalexpr` (a precompiled operator tree) and native Rust.
//!
//! Each benchmark evaluates its formula once for each of 1,000,000 argument
//! pairs, so the time criterion reports per iteration, read in ms, is the
//! time per call in ns. Run with `cargo bench --bench formula`.
//!
//! The native closure is measured twice: `native-inlined` lets the compiler
//! inline it into the loop (the best Rust can do, possibly vectorised), and
//! `native-opaque` calls it through `&dyn Fn` hidden behind `black_box`, an
//! out-of-line call like the one into JIT code.
//!
//! The machine this runs on may be shared: with
//! `EXPRJIT_BENCH_CPU_TIME=1` criterion measures the benchmark thread's CPU
//! time instead of wall time, so time spent descheduled by other load is not
//! counted (caches and branch predictors still suffer from it).
//!
//! Besides one call per pair (`exprjit`, `exprjit-dyn` through the
//! run-time-arity handle), `exprjit-call_many` runs the formula over all the
//! pairs as rows into an output column, against `native-opaque-rows`, the
//! same loop of opaque native calls.
//!
//! Groups: `arith` is `a * 3 + b - (a / (b | 1))`, `arith-checked` is
//! `a * 3 + b - a / (b * b + 1)` (whose division keeps its zero test, so
//! the function has a trap site), `if`
//! is `if a > b then a - b else b * 2 + a` on random arguments (the branch
//! goes either way at random), `if-predictable` the same with `a > b`
//! always. `exprjit-dyn` hides the length of its argument slice from the
//! compiler (it is read once, through `black_box`), as in a host whose
//! arity comes from data.

use std::hint::black_box;

use std::time::Duration;

use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{Criterion, Throughput};
use evalexpr::{ContextWithMutableVariables, DefaultNumericTypes, HashMapContext, Value};

#[path = "common/workloads.rs"]
#[allow(dead_code)]
mod workloads;

const CALLS: usize = 1_000_000;

/// One formula in the three forms.
struct Formula {
    name: &'static str,
    /// Whether to use arguments with `a > b` always, so that the `if`
    /// always takes one branch (a predictable branch).
    a_above_b: bool,
    exprjit: &'static str,
    evalexpr: &'static str,
    native: fn(i64, i64) -> i64,
}

const FORMULAS: [Formula; 4] = [
    Formula {
        name: "arith",
        a_above_b: false,
        exprjit: "fn f(a, b) = a * 3 + b - (a / (b | 1))",
        // evalexpr has no `|` operator; `bitor` is its function for it.
        evalexpr: "a * 3 + b - (a / bitor(b, 1))",
        native: |a, b| {
            a.wrapping_mul(3)
                .wrapping_add(b)
                .wrapping_sub(a.wrapping_div(b | 1))
        },
    },
    // A divisor the compiler cannot prove nonzero: the division keeps its
    // zero test, so the function has a trap site, whose trap returns to
    // the direct caller (the others have none; see "Direct calls" in
    // `src/abi.rs`).
    Formula {
        name: "arith-checked",
        a_above_b: false,
        exprjit: "fn f(a, b) = a * 3 + b - a / (b * b + 1)",
        evalexpr: "a * 3 + b - a / (b * b + 1)",
        native: |a, b| {
            a.wrapping_mul(3)
                .wrapping_add(b)
                .wrapping_sub(a.wrapping_div(b.wrapping_mul(b).wrapping_add(1)))
        },
    },
    Formula {
        name: "if",
        a_above_b: false,
        exprjit: IF_EXPRJIT,
        evalexpr: IF_EVALEXPR,
        native: if_native,
    },
    // The same with a predictable branch: shows what the unpredictable one
    // costs the generated code (which branches where rustc uses `cmov`).
    Formula {
        name: "if-predictable",
        a_above_b: true,
        exprjit: IF_EXPRJIT,
        evalexpr: IF_EVALEXPR,
        native: if_native,
    },
];

const IF_EXPRJIT: &str = "fn f(a, b) = if a > b then a - b else b * 2 + a";
const IF_EVALEXPR: &str = "if(a > b, a - b, b * 2 + a)";

fn if_native(a: i64, b: i64) -> i64 {
    if a > b {
        a.wrapping_sub(b)
    } else {
        b.wrapping_mul(2).wrapping_add(a)
    }
}

fn formulas<M: Measurement>(c: &mut Criterion<M>) {
    let random_pairs = workloads::argument_pairs(CALLS);
    let pairs_a_above_b: Vec<(i64, i64)> = random_pairs
        .iter()
        .map(|&(a, b)| (a.abs() + 1_000_001, b))
        .collect();
    for formula in &FORMULAS {
        let pairs = if formula.a_above_b {
            &pairs_a_above_b
        } else {
            &random_pairs
        };
        let mut group = c.benchmark_group(formula.name);
        group.throughput(Throughput::Elements(CALLS as u64));
        group.sample_size(10);

        let program = exprjit::compile(formula.exprjit).expect("formula compiles");
        let f = program.func::<2>("f").expect("f(a, b) is defined");
        let native = formula.native;

        // The three must agree before their speed means anything.
        let tree = evalexpr::build_operator_tree::<DefaultNumericTypes>(formula.evalexpr)
            .expect("evalexpr parses the formula");
        let mut context = HashMapContext::<DefaultNumericTypes>::new();
        for &(a, b) in pairs.iter().take(1000) {
            context.set_value("a".into(), Value::Int(a)).unwrap();
            context.set_value("b".into(), Value::Int(b)).unwrap();
            let expected = native(a, b);
            assert_eq!(f.call([a, b]), Ok(expected), "exprjit f({a}, {b})");
            assert_eq!(
                tree.eval_int_with_context(&context),
                Ok(expected),
                "evalexpr f({a}, {b})"
            );
        }

        group.bench_function("exprjit", |bench| {
            bench.iter(|| {
                let mut sum = 0i64;
                for &(a, b) in pairs {
                    sum = sum.wrapping_add(f.call(black_box([a, b])).unwrap_or(0));
                }
                sum
            })
        });
        let dynamic = program.func_dyn("f").expect("f(a, b) is defined");
        group.bench_function("exprjit-dyn", |bench| {
            bench.iter(|| {
                // A length the compiler cannot see, as when it comes from
                // data (hidden once, not per call: `black_box` on each
                // slice would add a store and a load that a host's slice
                // does not have).
                let len = black_box(2);
                let mut sum = 0i64;
                for &(a, b) in pairs {
                    let pair = black_box([a, b]);
                    sum = sum.wrapping_add(dynamic.call(&pair[..len]).unwrap_or(0));
                }
                sum
            })
        });
        // One formula over all the rows into an output column: the loop in
        // generated code against a loop of opaque native calls.
        let rows: Vec<[i64; 2]> = pairs.iter().map(|&(a, b)| [a, b]).collect();
        let mut out = vec![0i64; rows.len()];
        f.call_many(&rows, &mut out).expect("no runtime error");
        assert!(rows.iter().zip(&out).all(|(&[a, b], &r)| r == native(a, b)));
        group.bench_function("exprjit-call_many", |bench| {
            bench.iter(|| {
                f.call_many(black_box(&rows), &mut out).unwrap();
                out[out.len() / 2]
            })
        });
        group.bench_function("native-opaque-rows", |bench| {
            let closure = move |a: i64, b: i64| native(a, b);
            let opaque: &dyn Fn(i64, i64) -> i64 = black_box(&closure);
            bench.iter(|| {
                for (row, result) in black_box(&rows).iter().zip(out.iter_mut()) {
                    *result = opaque(row[0], row[1]);
                }
                out[out.len() / 2]
            })
        });
        group.bench_function("native-inlined", |bench| {
            bench.iter(|| {
                let mut sum = 0i64;
                for &(a, b) in pairs {
                    sum = sum.wrapping_add(native(black_box(a), black_box(b)));
                }
                sum
            })
        });
        group.bench_function("native-opaque", |bench| {
            let closure = move |a: i64, b: i64| native(a, b);
            let opaque: &dyn Fn(i64, i64) -> i64 = black_box(&closure);
            bench.iter(|| {
                let mut sum = 0i64;
                for &(a, b) in pairs {
                    sum = sum.wrapping_add(opaque(a, b));
                }
                sum
            })
        });
        group.bench_function("evalexpr", |bench| {
            bench.iter(|| {
                let mut sum = 0i64;
                for &(a, b) in pairs {
                    context.set_value("a".into(), Value::Int(a)).unwrap();
                    context.set_value("b".into(), Value::Int(b)).unwrap();
                    sum = sum.wrapping_add(tree.eval_int_with_context(&context).unwrap_or(0));
                }
                sum
            })
        });
        group.finish();
    }
}

/// CPU time of the measuring thread (`CLOCK_THREAD_CPUTIME_ID`).
struct ThreadCpuTime;

impl Measurement for ThreadCpuTime {
    type Intermediate = cpu_time::ThreadTime;
    type Value = Duration;

    fn start(&self) -> Self::Intermediate {
        cpu_time::ThreadTime::now()
    }
    fn end(&self, start: Self::Intermediate) -> Self::Value {
        start.elapsed()
    }
    fn add(&self, a: &Self::Value, b: &Self::Value) -> Self::Value {
        *a + *b
    }
    fn zero(&self) -> Self::Value {
        Duration::ZERO
    }
    fn to_f64(&self, value: &Self::Value) -> f64 {
        value.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        // Durations are formatted the same whichever clock measured them.
        static WALL_TIME: WallTime = WallTime;
        WALL_TIME.formatter()
    }
}

fn main() {
    if std::env::var_os("EXPRJIT_BENCH_CPU_TIME").is_some_and(|v| !v.is_empty()) {
        let mut criterion = Criterion::default()
            .with_measurement(ThreadCpuTime)
            .configure_from_args();
        formulas(&mut criterion);
        criterion.final_summary();
    } else {
        let mut criterion = Criterion::default().configure_from_args();
        formulas(&mut criterion);
        criterion.final_summary();
    }
}
