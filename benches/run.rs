//! Run time of the benchmark workloads on both back ends: the JIT at the
//! sizes `bench/compare` uses, the reference interpreter at smaller sizes
//! (see `workloads::RUN_WORKLOADS`). Compilation happens outside the timed
//! loop.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use exprjit::pipeline::{self, Backend, Runner, Timings};

#[path = "common/workloads.rs"]
#[allow(dead_code)]
mod workloads;

fn run(c: &mut Criterion) {
    let mut group = c.benchmark_group("run");
    group.sample_size(10);
    for (name, definitions, calls) in workloads::RUN_WORKLOADS {
        let (full, small) = calls.split_once('|').expect("two sizes");
        for (backend, label, call) in [
            (Backend::Jit, "jit", full),
            (Backend::Interp, "interp", small),
        ] {
            let source = format!("{definitions}{call}\n");
            let mut timings = Timings::default();
            let program = pipeline::front_end(&source, &mut timings).expect("valid");
            let runner = Runner::new(&program, backend, &mut timings).expect("loads");
            let entry = *program.top_level.last().expect("one call");
            group.bench_function(BenchmarkId::new(format!("{name}/{label}"), call), |b| {
                b.iter(|| {
                    runner
                        .call(entry, &[], None)
                        .expect("stack")
                        .expect("no runtime error")
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, run);
criterion_main!(benches);
