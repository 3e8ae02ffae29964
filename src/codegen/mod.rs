//! Code generation: the checked program in, an [`Artifact`] out.
//!
//! [`x64`] encodes instructions; `trampoline` emits the entry trampoline,
//! the trap exit, the batch loops and the argument loaders; `inline` decides once which functions
//! are expanded at their call sites; [`analysis`] looks at each function
//! before it is lowered; `lower` walks it once and emits its code, with
//! [`regs`] and
//! [`divide`] as helpers. A large program's functions are emitted on
//! several threads, in parts that `shards` joins into the code one thread
//! would emit. The output is plain data (see [`crate::artifact`]): nothing
//! downstream knows how it was made.

pub mod analysis;
mod debug;
pub mod divide;
pub mod inline;
mod lower;
pub mod regs;
mod shards;
mod trampoline;

// Only a REPL session redirects code.
#[cfg(feature = "cli")]
pub use trampoline::redirect;
pub mod x64;

use std::ops::Range;

use crate::abi::REGISTER_ARGS;
use crate::artifact::{Artifact, BatchEntry, FrameRule, FuncCode, PiecedArtifact, TrapKind, compact};
use crate::ir;
use lower::{Emitted, Links, Room};
use x64::{Assembler, Label};

/// Function entries start at a multiple of this many bytes.
const FUNCTION_ALIGNMENT: usize = 16;

/// What [`compile_with`] emits besides the functions.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// The loops that call a function once per row (one per arity in the
    /// program), for the library's `call_many`.
    pub batch_entries: bool,
    /// The line and call-frame tables of [`crate::artifact::DebugTables`]
    /// (the code is the same either way).
    pub debug_info: bool,
    /// The address of a REPL session's function table (`jit::table`): the
    /// slot of function `GlobalId` is at `table + 8 * id`. Calls to the
    /// program's external functions go through it; without one the program
    /// must have none.
    pub function_table: Option<u64>,
    /// Expand no call in place (a REPL session compiling an entry some of
    /// whose functions later entries replaced, which inlined copies would
    /// not see).
    pub no_inlining: bool,
}

/// Generates machine code for every function of `program`.
pub fn compile(program: &ir::CheckedProgram) -> Artifact {
    compile_with(program, Options::default())
}

/// Like [`compile`], with what `options` asks for: with
/// `batch_entries`, also an argument loader before each function of at
/// most six parameters, for the library.
pub fn compile_with(program: &ir::CheckedProgram, options: Options) -> Artifact {
    compile_pieced(program, options).into_artifact()
}

/// Like [`compile_with`], with the code left in the pieces the parts
/// emitted, for loading (see [`PiecedArtifact`]).
pub fn compile_pieced(program: &ir::CheckedProgram, options: Options) -> PiecedArtifact {
    shards::compile(program, options, shards::count(program))
}

/// Like [`compile_with`], with the functions emitted in `parts` parts on
/// as many threads (one: on this thread), rather than as many as the
/// machine and the program's size call for: for tests, which check that
/// the parts join into what one thread emits. (Not in the library's API:
/// this module is public only with the `internals` feature.)
pub fn compile_in_parts(program: &ir::CheckedProgram, options: Options, parts: usize) -> Artifact {
    shards::compile(program, options, parts).into_artifact()
}

/// What precedes the functions, emitted with the first part only.
#[derive(Debug)]
struct Head {
    enter: usize,
    trap_exit: usize,
    undefined: Option<usize>,
    batch: Vec<BatchEntry>,
}

/// A contiguous run of the program's functions, emitted into an assembler
/// of its own, its offsets counted from its own start.
#[derive(Debug)]
struct Part {
    /// The code, with the jumps and calls to its own labels resolved.
    code: Vec<u8>,
    /// The rel32 fields (offset, label) of the jumps and calls to labels
    /// bound in another part: functions, and the trap exit.
    unresolved: Vec<(u32, Label)>,
    /// Its functions, in order.
    funcs: Vec<FuncCode>,
    /// Their names (see [`crate::artifact::CodeMap::names`]).
    names: String,
    emitted: Emitted,
    debug: debug::Recorder,
    /// In the first part only.
    head: Option<Head>,
}

/// A new assembler with the labels every part shares: the trap exit, then
/// each function's entry. Made first and in the same order in every
/// part's assembler, they have the same numbers in all; the others are
/// each function's own, and recycled once it is done.
fn assembler(program: &ir::CheckedProgram) -> (Assembler, Label, Vec<Label>) {
    let mut asm = Assembler::new();
    let trap_exit = asm.new_label();
    let funcs = program.funcs.iter().map(|_| asm.new_label()).collect();
    asm.share_labels();
    (asm, trap_exit, funcs)
}

/// The links of the parts' lowering (see [`assembler`] for the labels).
fn links<'p>(
    program: &'p ir::CheckedProgram,
    options: Options,
    trap_exit: Label,
    funcs: Vec<Label>,
) -> Links<'p> {
    Links {
        program,
        function_table: options.function_table,
        inline: if options.no_inlining {
            inline::InlinePlan::none(program)
        } else {
            inline::InlinePlan::of(program)
        },
        funcs,
        trap_exit,
    }
}

/// Emits the entry trampoline, the trap exit, the undefined-function stub
/// (with a function table) and the batch entries.
fn emit_head(asm: &mut Assembler, links: &Links, options: Options, debug: &mut debug::Recorder) -> Head {
    let trap_exit = links.trap_exit;
    let enter = trampoline::emit(asm, trap_exit, debug);
    let trap_exit_offset = asm.label_offset(trap_exit).expect("trap exit is bound");
    let undefined = options
        .function_table
        .map(|_| trampoline::emit_undefined(asm, trap_exit, debug));
    let mut batch = Vec::new();
    if options.batch_entries {
        let mut arities: Vec<usize> = links.program.funcs.iter().map(|f| f.arity).collect();
        arities.sort_unstable();
        arities.dedup();
        for arity in arities {
            let code = trampoline::emit_batch(asm, arity, trap_exit, debug);
            batch.push(BatchEntry {
                arity,
                offset: code.offset,
                size: asm.offset() - code.offset,
                check_trap: code.check_trap,
            });
        }
    }
    Head {
        enter,
        trap_exit: trap_exit_offset,
        undefined,
        batch,
    }
}

/// Emits the functions `ids` into `asm` (made by [`assembler`]), after the
/// [`Head`] if `head`.
fn emit_part(mut asm: Assembler, links: &Links, options: Options, ids: Range<usize>, head: bool) -> Part {
    let program = links.program;
    let mut debug = debug::Recorder::new(options.debug_info);
    let head = head.then(|| emit_head(&mut asm, links, options, &mut debug));
    let mut emitted = Emitted::default();
    let mut facts = analysis::Facts::default();
    let mut room = Room::default();
    let mut funcs = Vec::with_capacity(ids.len());
    let mut names = String::new();
    let mut name_of = |func: &ir::Func| {
        let start = compact(names.len());
        names.push_str(&func.name);
        start..compact(names.len())
    };
    for id in ids {
        let func = &program.funcs[id];
        if func.is_external() {
            assert!(
                options.function_table.is_some(),
                "external function '{}' without a function table",
                func.name
            );
            funcs.push(FuncCode {
                name: name_of(func),
                name_span: func.name_span.into(),
                arity: compact(func.arity),
                offset: 0,
                size: 0,
                trap_free: false,
                traps_return: false,
                loader: None,
                external: true,
            });
            continue;
        }
        // As C compilers do: a function's layout (and so how its loops fall
        // on fetch boundaries) should not depend on the code before it.
        asm.align_with_int3(FUNCTION_ALIGNMENT);
        // The argument loader falls into the function, which stays aligned.
        let loader = (options.batch_entries && func.arity <= REGISTER_ARGS).then(|| {
            let size = trampoline::loader_size(func.arity);
            asm.pad_with_int3(size.next_multiple_of(FUNCTION_ALIGNMENT) - size);
            let loader = asm.offset();
            // It only loads registers: the stack is as the caller left it.
            debug.frame(loader, FrameRule::ENTRY);
            trampoline::emit_loader(&mut asm, func.arity);
            loader
        });
        let offset = asm.offset();
        let traps_before = emitted.traps.len();
        let frameless = lower::function(&mut asm, links, &mut emitted, &mut debug, &mut facts, &mut room, id);
        // Its jumps inside it, its calls to functions before it and to the
        // trap exit are filled in now: only the others are kept.
        asm.seal();
        let sites = &emitted.traps[traps_before..];
        funcs.push(FuncCode {
            name: name_of(func),
            name_span: func.name_span.into(),
            arity: compact(func.arity),
            offset: compact(offset),
            size: compact(asm.offset() - offset),
            trap_free: sites.is_empty(),
            traps_return: frameless
                && !sites.is_empty()
                && sites
                    .iter()
                    .all(|site| matches!(site.kind, TrapKind::DivisionByZero { .. })),
            loader: loader.map(compact),
            external: false,
        });
    }
    let (code, unresolved) = asm.finish_bound();
    Part {
        code,
        unresolved,
        funcs,
        names,
        emitted,
        debug,
        head,
    }
}
