//! What a REPL entry costs in a large session: a session holds N live
//! definitions (the generated program of `compile`, loaded as one entry),
//! and one entry is a one-line call of one of them, `f1(3, 4)`. Compiled
//! on its own and linked through the function table, it should cost the
//! same at 1,000, 10,000 and 100,000 definitions (`entry/N`).
//!
//! Also: `load/N`, the `:load` of the N functions as one entry, next to
//! `batch/N`, the batch compile (and load) of the same source (neither
//! timing the freeing of what it made); and
//! `calls`, the cost of the table: fib(25) called from the entry that
//! defines it (direct calls within the entry) against fib defined in one
//! entry and a caller `g` in the next (one call through the table, then
//! direct recursion), and a `fib` whose recursion goes through the table
//! (it calls `fib2`, defined in another entry, which calls `fib`).

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use exprjit::session::Session;

#[path = "common/workloads.rs"]
#[allow(dead_code)]
mod workloads;

fn session_with(source: &str) -> Session {
    let mut session = Session::new();
    let outcome = session.eval("<load>", source, None);
    assert!(outcome.failure.is_none(), "{:?}", outcome.failure);
    session
}

fn entries(c: &mut Criterion) {
    let mut group = c.benchmark_group("repl");
    group.sample_size(10);
    for functions in [1_000, 10_000, 100_000] {
        let source = workloads::generated_program(functions);
        let mut session = session_with(&source);
        group.bench_function(BenchmarkId::new("entry", functions), |b| {
            b.iter(|| {
                let outcome = session.eval("<entry>", "f1(3, 4)", None);
                assert!(outcome.failure.is_none());
                outcome
            })
        });
        drop(session);
        group.bench_with_input(BenchmarkId::new("load", functions), &source, |b, source| {
            b.iter_with_large_drop(|| session_with(source))
        });
        group.bench_with_input(
            BenchmarkId::new("batch", functions),
            &source,
            |b, source| {
                // The program is kept too, as the session keeps it.
                b.iter_with_large_drop(|| workloads::compile_and_load(source))
            },
        );
    }
    group.finish();
}

const FIB: &str = "fn fib(n) = if n < 2 then n else fib(n - 1) + fib(n - 2)";

fn calls(c: &mut Criterion) {
    let mut group = c.benchmark_group("calls");
    group.sample_size(20);
    let mut same_entry = Session::new();
    group.bench_function("fib(25), defined in the same entry", |b| {
        b.iter(|| same_entry.eval("<entry>", &format!("{FIB}; fib(25)"), None))
    });
    let mut next_entry = session_with(FIB);
    group.bench_function("fib(25), defined in an earlier entry", |b| {
        b.iter(|| next_entry.eval("<entry>", "fib(25)", None))
    });
    // The same recursion split over two functions, calling each other:
    // direct calls when one entry defines both, through the table when
    // each is in an entry of its own.
    let fib1 = "fn fib1(n) = if n < 2 then n else fib2(n - 1) + fib2(n - 2)";
    let fib2 = "fn fib2(n) = if n < 2 then n else fib1(n - 1) + fib1(n - 2)";
    let mut one_entry = session_with(&format!("{fib1}\n{fib2}"));
    group.bench_function("fib1(25) and fib2 in one entry: direct calls", |b| {
        b.iter(|| one_entry.eval("<entry>", "fib1(25)", None))
    });
    let mut two_entries = session_with(fib1);
    session_with_more(&mut two_entries, fib2);
    group.bench_function("fib1(25) and fib2 in two entries: through the table", |b| {
        b.iter(|| two_entries.eval("<entry>", "fib1(25)", None))
    });
    group.finish();
}

fn session_with_more(session: &mut Session, source: &str) {
    let outcome = session.eval("<more>", source, None);
    assert!(outcome.failure.is_none(), "{:?}", outcome.failure);
}

criterion_group!(benches, entries, calls);
criterion_main!(benches);
