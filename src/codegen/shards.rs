//! Code generation on the machine's cores: a large program's functions are
//! cut into contiguous parts ("shards") of about equal IR size, each
//! emitted on a thread of its own into an assembler of its own, and the
//! parts are placed (each part's code stays a buffer of its own, a piece
//! of the [`PiecedArtifact`], which loading moves into executable memory
//! one by one) and joined into exactly the code and [`CodeMap`] one
//! thread emitting every function in order gives (the golden listings, the debug
//! tables and the REPL's redirects rely on one layout, and a compiler
//! whose output depends on the machine's core count is hard to debug).
//!
//! Why the join can be exact:
//! * Every function starts at a multiple of [`FUNCTION_ALIGNMENT`] and its
//!   code does not depend on where that is: a part whose code starts at
//!   the next such multiple after the previous part's end is where one
//!   thread would have put it, with the same `int3` padding before it.
//! * A call or jump to another function, or to the trap exit, is always a
//!   rel32: `Assembler::relax` only shortens jumps to labels bound inside
//!   the function being relaxed. The parts leave those of their fields
//!   whose target is in another part unresolved, and the join fills them.
//! * Every part makes its assembler's labels the same way first (the trap
//!   exit, then one per function), so every part's [`Links`] has the same
//!   labels, and the first part's serves the join.
//! * Which calls are inlined depends on the order the questions are
//!   asked (see [`super::inline`]): each part's thread has a plan of its
//!   own, which first asks what the functions before the part ask, in
//!   their order, so that every part sees one thread's decisions.
//!
//! Small programs (the REPL's entries, most files) stay on the calling
//! thread: below [`MIN_NODES_PER_PART`] IR nodes a part, starting a thread
//! costs more than it saves.

use std::num::NonZeroUsize;
use std::ops::Range;
use std::sync::OnceLock;

use super::{FUNCTION_ALIGNMENT, Options, Part, assembler, emit_part, links, trampoline, x64};
use crate::artifact::{CodeMap, CodePiece, PiecedArtifact, TrapSite, compact};
use crate::codegen::lower::Links;
use crate::ir;

/// At most this many parts, however many cores: what stays on one thread
/// (the join, and each later part's head start of asking the inlining
/// questions of the functions before it) soon bounds the gain, and each
/// part holds its own scratch. (Measured on two cores only.)
const MAX_PARTS: usize = 8;

/// The least IR a part gets (a function's weight is [`weight`]). One thread
/// emits about 9,000 of it a millisecond (100,000 functions of 22 nodes
/// in 340 ms), so a part is at least 2 ms of work; starting a thread and
/// joining its part costs about a tenth of a millisecond.
const MIN_NODES_PER_PART: usize = 20_000;

/// What a function weighs in the balance: its IR nodes, plus what each
/// function costs besides them (its entry, its record, alignment).
fn weight(func: &ir::Func) -> usize {
    if func.is_external() { 0 } else { func.body.len() + 8 }
}

/// How many parts to emit `program` in: one per core (at most
/// [`MAX_PARTS`]), fewer for a program too small to keep them busy.
pub(super) fn count(program: &ir::CheckedProgram) -> usize {
    let nodes: usize = program.funcs.iter().map(weight).sum();
    if nodes < 2 * MIN_NODES_PER_PART {
        // Without asking the system how many cores there are: that reads
        // files under /proc and /sys, which a one-line REPL entry should
        // not pay for.
        return 1;
    }
    static CORES: OnceLock<usize> = OnceLock::new();
    let cores = *CORES.get_or_init(|| {
        std::thread::available_parallelism().map_or(1, NonZeroUsize::get)
    });
    cores.min(MAX_PARTS).min(nodes / MIN_NODES_PER_PART).max(1)
}

/// What asking a function's inlining questions costs, as a share of
/// emitting it: every part but the first asks those of all the functions
/// before it first (see [`compile`]). Measured on the chained program of
/// 100,000 functions in two parts: the second part's 6 ms of asking for
/// the first's 145 ms of emitting (2 cores, 2026-12-01).
const DECIDE_SHARE: f64 = 1.0 / 24.0;

/// Cuts the functions into at most `parts` contiguous, non-empty runs
/// that take about equally long: a part's work is emitting its functions
/// plus [`DECIDE_SHARE`] of the weight before it.
///
/// With equal work `w` for every part, part `p` starts at the weight
/// `s(p) = w (1 - (1 - c)^p) / c` (`c` the share): its work is
/// `s(p + 1) - s(p) + c s(p) = w`. The last one ends at the total.
fn split(program: &ir::CheckedProgram, parts: usize) -> Vec<Range<usize>> {
    let total = program.funcs.iter().map(weight).sum::<usize>() as f64;
    let kept = 1.0 - DECIDE_SHARE;
    let work = total * DECIDE_SHARE / (1.0 - kept.powi(parts as i32));
    let start_of = |part: usize| work * (1.0 - kept.powi(part as i32)) / DECIDE_SHARE;
    let mut ranges = Vec::with_capacity(parts);
    let mut start = 0;
    let mut sum = 0;
    let end = program.funcs.len();
    for (id, func) in program.funcs.iter().enumerate() {
        sum += weight(func);
        // The run ends once it reaches where the next one starts.
        if sum as f64 >= start_of(ranges.len() + 1) && ranges.len() + 1 < parts && id + 1 < end {
            ranges.push(start..id + 1);
            start = id + 1;
        }
    }
    ranges.push(start..end);
    ranges
}

/// Generates the code of `program` in `parts` parts (one: on this thread,
/// as it always was), each but the first on a thread of its own.
///
/// Each part decides its inlining on its own plan, as its lowering asks
/// (see [`super::inline`]): a part that starts at function `s` first asks
/// every question the functions before `s` ask, in their order
/// ([`super::inline::InlinePlan::decide_in_order`]), so that its plan is what one thread
/// would have when it reached `s`. That head start is why the later parts
/// are cut smaller ([`split`]).
pub(super) fn compile(program: &ir::CheckedProgram, options: Options, parts: usize) -> PiecedArtifact {
    let (asm, trap_exit, funcs) = assembler(program);
    let links = links(program, options, trap_exit, funcs);
    let all = 0..program.funcs.len();
    let ranges = split(program, parts.max(1));
    if ranges.len() == 1 {
        let part = emit_part(asm, &links, options, all, true);
        return join(vec![part], &links, options);
    }
    // What the parts' threads share of the first part's links (its plan
    // is the first part's own).
    let (shared_trap_exit, shared_funcs) = (links.trap_exit, &links.funcs);
    let emit_other = |range: Range<usize>| {
        let (asm, trap_exit, funcs) = assembler(program);
        debug_assert!(trap_exit == shared_trap_exit && funcs == *shared_funcs);
        let own = super::links(program, options, trap_exit, funcs);
        own.inline.decide_in_order(0..range.start);
        emit_part(asm, &own, options, range, false)
    };
    let parts = std::thread::scope(|scope| {
        let threads: Vec<_> = ranges[1..]
            .iter()
            .map(|range| {
                let range = range.clone();
                // The lowering recurses per nesting level, as on the
                // compiler thread, whose stack this matches.
                std::thread::Builder::new()
                    .name("exprjit-codegen".to_owned())
                    .stack_size(crate::pipeline::COMPILER_STACK_SIZE)
                    .spawn_scoped(scope, move || emit_other(range))
                    .ok()
            })
            .collect();
        let mut parts = Vec::with_capacity(ranges.len());
        parts.push(emit_part(asm, &links, options, ranges[0].clone(), true));
        for (thread, range) in threads.into_iter().zip(&ranges[1..]) {
            parts.push(match thread {
                Some(thread) => thread
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                // No thread could be started: this one does the part.
                None => emit_other(range.clone()),
            });
        }
        parts
    });
    join(parts, &links, options)
}

/// Joins the parts (the first with the head) into one artifact: each
/// part's code a piece at the next function boundary after the previous
/// part's, its offsets moved along, the calls between parts filled in.
fn join(mut parts: Vec<Part>, links: &Links, options: Options) -> PiecedArtifact {
    // Where each part starts; a part without code (only external
    // functions) adds no padding either.
    let mut bases = Vec::with_capacity(parts.len());
    let mut len = 0usize;
    for part in &parts {
        if !part.code.is_empty() {
            len = len.next_multiple_of(FUNCTION_ALIGNMENT);
        }
        bases.push(len);
        len += part.code.len();
    }
    let end = match options.function_table {
        // Room for a redirect at the last function's entry too.
        Some(_) => len.next_multiple_of(trampoline::REDIRECT_ROOM),
        None => len,
    };
    // The first part's lists grow to their exact size (a large buffer in
    // place: `realloc` remaps its pages) and take the other parts' in;
    // each other part's is freed once copied, so nothing is held twice
    // over for long. The code stays in the parts' pieces.
    let mut pieces = Vec::with_capacity(parts.len());
    let mut funcs = std::mem::take(&mut parts[0].funcs);
    funcs.reserve_exact(links.program.funcs.len() - funcs.len());
    let mut names = std::mem::take(&mut parts[0].names);
    names.reserve_exact(parts.iter().map(|p| p.names.len()).sum());
    let mut traps = std::mem::take(&mut parts[0].emitted.traps);
    traps.reserve_exact(parts.iter().map(|p| p.emitted.traps.len()).sum());
    let mut expanded = std::mem::take(&mut parts[0].emitted.expanded);
    let mut debug = std::mem::take(&mut parts[0].debug);
    for (index, (part, &base)) in parts.iter_mut().zip(&bases).enumerate() {
        pieces.push(CodePiece {
            offset: base,
            bytes: std::mem::take(&mut part.code),
        });
        if index == 0 {
            continue;
        }
        debug.append(std::mem::take(&mut part.debug), base);
        let shift = compact(names.len());
        names.push_str(&std::mem::take(&mut part.names));
        funcs.extend(std::mem::take(&mut part.funcs).into_iter().map(|mut func| {
            func.name = func.name.start + shift..func.name.end + shift;
            if !func.external {
                func.offset = compact(func.offset as usize + base);
                func.loader = func.loader.map(|loader| compact(loader as usize + base));
            }
            func
        }));
        let sites = std::mem::take(&mut part.emitted.traps).into_iter();
        traps.extend(sites.map(|site| TrapSite {
            offset: compact(site.offset as usize + base),
            ..site
        }));
        expanded.append(&mut part.emitted.expanded);
    }
    let head = parts[0].head.take().expect("the first part has the head");
    // The calls and jumps between parts, now that everything is placed.
    let first_func = links.funcs.first().map_or(0, |label| label.index());
    for (part, piece) in parts.iter().zip(&mut pieces) {
        for &(at, label) in &part.unresolved {
            let target = if label == links.trap_exit {
                head.trap_exit
            } else {
                let func = label
                    .index()
                    .checked_sub(first_func)
                    .and_then(|id| funcs.get(id))
                    .filter(|func: &&crate::artifact::FuncCode| !func.external)
                    .expect("jump to a label never bound");
                func.offset as usize
            };
            x64::write_rel32_in(&mut piece.bytes, piece.offset, at as usize, target);
        }
    }
    // The pairs come function by function, in order (each part's in the
    // order it emitted them, the parts in order): sorting each function's
    // few callees sorts them all, in one pass rather than a sort of the
    // whole list.
    for callees in expanded.chunk_by_mut(|a, b| a.0 == b.0) {
        callees.sort_unstable();
    }
    debug_assert!(expanded.is_sorted());
    expanded.dedup();
    let inlined = expanded
        .into_iter()
        .map(|(func, callee)| (compact(func), compact(callee)))
        .collect();
    traps.sort_by_key(|t: &TrapSite| t.offset);
    PiecedArtifact {
        pieces,
        len: end,
        map: CodeMap {
            enter: head.enter,
            trap_exit: head.trap_exit,
            undefined: head.undefined,
            funcs,
            names,
            traps,
            inlined,
            batch: head.batch,
            code_len: end,
            debug: debug.finish(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{Timings, front_end};

    fn program(source: &str) -> ir::CheckedProgram {
        front_end(source, &mut Timings::default()).expect("valid")
    }

    /// Every option that changes what is emitted, on and off.
    fn all_options() -> Vec<Options> {
        let mut all = Vec::new();
        for bits in 0..8 {
            all.push(Options {
                batch_entries: bits & 1 != 0,
                debug_info: bits & 2 != 0,
                function_table: None,
                no_inlining: bits & 4 != 0,
            });
        }
        all
    }

    /// The artifact as one comparable text: the code's bytes and every
    /// field of the map.
    fn dump(artifact: PiecedArtifact) -> String {
        let artifact = artifact.into_artifact();
        format!("{:02x?}\n{:#?}", artifact.code, artifact.map)
    }

    /// Compiling `program` in 2, 3 and 7 parts gives what one thread gives.
    fn assert_parts_agree(program: &ir::CheckedProgram, options: Options) {
        let one = dump(compile(program, options, 1));
        for parts in [2, 3, 7] {
            let many = dump(compile(program, options, parts));
            assert!(
                one == many,
                "{parts} parts differ from one with {options:?}:\n{}",
                first_difference(&one, &many)
            );
        }
    }

    fn first_difference(one: &str, many: &str) -> String {
        let line = one.lines().zip(many.lines()).position(|(a, b)| a != b);
        match line {
            Some(line) => format!(
                "line {line}: {:?} / {:?}",
                one.lines().nth(line),
                many.lines().nth(line)
            ),
            None => "lengths differ".to_owned(),
        }
    }

    /// Calls both ways between parts, tail calls to other functions,
    /// self-recursion and loops, divisions, inlined helpers, stack
    /// arguments, mutual recursion.
    const MIXED: &str = "\
fn a(x) = if x < 1 then 0 else d(x - 1) + 1
fn small(x, y) = if x > y then x else y
fn b(x) = x / (x - 3) + small(x, 7) % (x + 1)
fn c(n, acc) = if n == 0 then acc else c(n - 1, acc + n)
fn d(x) = if x < 2 then x else a(x - 2) * 3 + b(x)
fn e(x) = d(x)
fn f(x, y, z, w, v, u, t, s) = if x > 0 then f(x - 1, y, z, w, v, u, t, s + 1) else e(y) % (z + s)
fn g(x) = f(x, 1, 2, 3, 4, 5, 6, 7) + fib(x) + small(x, 3)
fn fib(n) = if n < 2 then n else fib(n - 1) + fib(n - 2)
fn even(n) = if n == 0 then 1 else odd(n - 1)
fn odd(n) = if n == 0 then 0 else even(n - 1)
fn sum(n) = if n == 0 then 0 else n + sum(n - 1)
fn h(x) = let y = x * 7 in if y > 100 then h(y / 3) else a(y) + g(y) + sum(y)
fn k() = 42
h(5) + k()
";

    #[test]
    fn parts_join_into_what_one_thread_emits() {
        let program = program(MIXED);
        for options in all_options() {
            assert_parts_agree(&program, options);
        }
    }

    #[test]
    fn external_calls_through_a_table_join_too() {
        let mut program = program(MIXED);
        // Functions of "other entries", called through the table.
        for name in ["b", "even", "k"] {
            let func = program.funcs.iter_mut().find(|f| f.name == name).unwrap();
            let ir::Link::Defined(id) = func.link else {
                panic!("defined")
            };
            func.link = ir::Link::External(id);
        }
        for options in all_options() {
            let options = Options {
                function_table: Some(0x7f00_1234_5000),
                ..options
            };
            assert_parts_agree(&program, options);
        }
    }

    #[test]
    fn inlining_decisions_that_depend_on_order_are_one_thread_s() {
        // `top`, first, asks about g30, then g40, before their own turns
        // come: the sizing of g30 follows the chain down to g14 (and cuts
        // it there), that of g40 stops at g30, already decided. Asked the
        // other way round, g40's would cut the chain at g24, and g34
        // would not be inlined in g35. Likewise whichever of two small
        // mutually recursive helpers is asked first is sized with the
        // other inside it.
        let mut source = String::from("fn top(x) = g30(x) + g40(x) + q(x) * p(x)
");
        source.push_str("fn p(n) = if n == 0 then 1 else q(n - 1)
");
        source.push_str("fn q(n) = if n == 0 then g3(n) else p(n - 1) + 1
");
        source.push_str("fn g0(x) = x + 1
");
        for i in 1..=40 {
            source.push_str(&format!("fn g{i}(x) = g{}(x) + 1\n", i - 1));
        }
        source.push_str("top(3)\n");
        let program = program(&source);
        for options in all_options() {
            assert_parts_agree(&program, options);
        }
    }

    #[test]
    fn large_programs_are_split_by_weight_and_small_ones_are_not() {
        assert_eq!(count(&program("fn f(x) = x + 1\nf(2)\n")), 1);
        let mut source = String::new();
        for i in 0..20_000 {
            source.push_str(&format!("fn f{i}(x, y) = x * {i} + y / (x + 1)\n"));
        }
        let program = program(&source);
        let ranges = split(&program, 3);
        assert_eq!(ranges.len(), 3);
        assert_eq!(ranges[0].start, 0);
        assert_eq!(ranges[2].end, program.funcs.len());
        for pair in ranges.windows(2) {
            assert_eq!(pair[0].end, pair[1].start);
        }
        // Every part's work, its functions and the head start of asking
        // those before it, is about the same; the later parts are smaller.
        let total = program.funcs.len() as f64;
        let work: Vec<f64> = ranges
            .iter()
            .map(|range| (range.len() as f64 + DECIDE_SHARE * range.start as f64) / total)
            .collect();
        for share in &work {
            assert!((share - work[0]).abs() < 0.01, "{ranges:?}: {work:?}");
        }
        assert!(ranges[0].len() > ranges[1].len() && ranges[1].len() > ranges[2].len());
        // Through the entry point, on however many cores there are.
        let auto = dump(crate::codegen::compile(&program).into());
        assert!(auto == dump(compile(&program, Options::default(), 1)));
    }

    #[test]
    fn deep_nesting_in_a_later_part_fits_the_thread_s_stack() {
        // As on the compiler thread, whose stack the part threads get.
        std::thread::Builder::new()
            .stack_size(crate::pipeline::COMPILER_STACK_SIZE)
            .spawn(|| {
                let depth = 200_000;
                let deep = format!("fn deep(x) = {}x{}\n", "x + (".repeat(depth), ")".repeat(depth));
                let source = format!("fn first(x) = x * 2\n{deep}first(1) + deep(1)\n");
                let program = program(&source);
                let one = dump(compile(&program, Options::default(), 1));
                let two = compile(&program, Options::default(), 2);
                assert!(two.map.funcs[1].offset > two.map.funcs[0].offset);
                assert!(one == dump(two));
            })
            .unwrap()
            .join()
            .unwrap();
    }

    #[test]
    #[should_panic(expected = "without a function table")]
    fn a_panic_in_a_part_s_thread_reaches_the_caller() {
        let mut program = program(MIXED);
        let last = program.funcs.len() - 2;
        let ir::Link::Defined(id) = program.funcs[last].link else {
            panic!("defined")
        };
        program.funcs[last].link = ir::Link::External(id);
        compile(&program, Options::default(), 3);
    }
}
