//! Compile throughput: generated programs of 10,000 and 100,000 small
//! functions (7 MB, within the 96 MiB `pipeline::MAX_SOURCE_LEN`), reported
//! as bytes of source per second (the lines per second follow from the
//! line count printed at the start, one function per line), in three
//! groups: `check` (the front end alone, what `exprjit --check` does),
//! `front_end+codegen+load` (all of compiling, nothing run) and
//! `codegen_only`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use exprjit::pipeline::{self, Timings};

#[path = "common/workloads.rs"]
#[allow(dead_code)]
mod workloads;

fn compile(c: &mut Criterion) {
    let mut group = c.benchmark_group("compile");
    group.sample_size(10);
    for functions in [10_000, 100_000] {
        let source = workloads::generated_program(functions);
        eprintln!(
            "compile/{functions}: {} lines, {} bytes of source",
            source.lines().count(),
            source.len()
        );
        group.throughput(Throughput::Bytes(source.len() as u64));
        group.bench_with_input(
            BenchmarkId::new("front_end+codegen+load", functions),
            &source,
            |b, source| b.iter(|| workloads::compile_and_load(source)),
        );
        // What `exprjit --check` does: parse and check, no code.
        group.bench_with_input(
            BenchmarkId::new("check", functions),
            &source,
            |b, source| {
                b.iter(|| pipeline::front_end(source, &mut Timings::default()).expect("valid"))
            },
        );
        let program = pipeline::front_end(&source, &mut Timings::default()).expect("valid");
        group.bench_with_input(
            BenchmarkId::new("codegen_only", functions),
            &program,
            |b, program| b.iter(|| exprjit::internals::compile(program)),
        );
    }
    group.finish();
}

criterion_group!(benches, compile);
criterion_main!(benches);
