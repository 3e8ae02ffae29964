//! Code generation: the checked program in, an [`Artifact`] out.
//!
//! [`x64`] encodes instructions; `trampoline` emits the entry trampoline,
//! the trap exit, the batch loops and the argument loaders; `inline` decides once which functions
//! are expanded at their call sites; [`analysis`] looks at each function
//! before it is lowered; `lower` walks it once and emits its code, with
//! [`regs`] and
//! [`divide`] as helpers. The output is plain data (see
//! [`crate::artifact`]): nothing downstream knows how it was made.

pub mod analysis;
mod debug;
pub mod divide;
pub mod inline;
mod lower;
pub mod regs;
mod trampoline;

// Only a REPL session redirects code.
#[cfg(feature = "cli")]
pub use trampoline::redirect;
pub mod x64;

use crate::abi::REGISTER_ARGS;
use crate::artifact::{Artifact, BatchEntry, CodeMap, FrameRule, FuncCode, TrapKind, TrapSite};
use crate::ir;
use lower::Links;

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
    let mut asm = x64::Assembler::new();
    let mut debug = debug::Recorder::new(options.debug_info);
    let trap_exit = asm.new_label();
    let enter = trampoline::emit(&mut asm, trap_exit, &mut debug);
    let trap_exit_offset = asm.label_offset(trap_exit).expect("trap exit is bound");
    let undefined = options
        .function_table
        .map(|_| trampoline::emit_undefined(&mut asm, trap_exit, &mut debug));
    let mut batch = Vec::new();
    if options.batch_entries {
        let mut arities: Vec<usize> = program.funcs.iter().map(|f| f.arity).collect();
        arities.sort_unstable();
        arities.dedup();
        for arity in arities {
            let code = trampoline::emit_batch(&mut asm, arity, trap_exit, &mut debug);
            batch.push(BatchEntry {
                arity,
                offset: code.offset,
                size: asm.offset() - code.offset,
                check_trap: code.check_trap,
            });
        }
    }
    let links = Links {
        program,
        function_table: options.function_table,
        expanded: std::cell::RefCell::new(Vec::new()),
        inline: if options.no_inlining {
            inline::InlinePlan::none(program)
        } else {
            inline::InlinePlan::of(program)
        },
        funcs: program.funcs.iter().map(|_| asm.new_label()).collect(),
        trap_exit,
    };
    let mut traps = Vec::new();
    let mut facts = analysis::Facts::default();
    let mut funcs = Vec::with_capacity(program.funcs.len());
    for (id, func) in program.funcs.iter().enumerate() {
        if func.is_external() {
            assert!(
                options.function_table.is_some(),
                "external function '{}' without a function table",
                func.name
            );
            funcs.push(FuncCode {
                name: func.name.clone(),
                name_span: func.name_span,
                arity: func.arity,
                offset: 0,
                size: 0,
                trap_free: false,
                traps_return: false,
                loader: None,
                external: true,
                inlined: Vec::new(),
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
        let traps_before = traps.len();
        let frameless = lower::function(&mut asm, &links, &mut traps, &mut debug, &mut facts, id);
        let sites = &traps[traps_before..];
        funcs.push(FuncCode {
            name: func.name.clone(),
            name_span: func.name_span,
            arity: func.arity,
            offset,
            size: asm.offset() - offset,
            trap_free: sites.is_empty(),
            traps_return: frameless
                && !sites.is_empty()
                && sites
                    .iter()
                    .all(|site| matches!(site.kind, TrapKind::DivisionByZero { .. })),
            loader,
            external: false,
            inlined: Vec::new(),
        });
    }
    let mut expanded = links.expanded.take();
    expanded.sort_unstable();
    expanded.dedup();
    for (func, callee) in expanded {
        funcs[func].inlined.push(callee);
    }
    if options.function_table.is_some() {
        // Room for a redirect at the last function's entry too.
        asm.align_with_int3(trampoline::REDIRECT_ROOM);
    }
    traps.sort_by_key(|t: &TrapSite| t.offset);
    let code = asm.finish();
    Artifact {
        map: CodeMap {
            enter,
            trap_exit: trap_exit_offset,
            undefined,
            funcs,
            traps,
            batch,
            code_len: code.len(),
            debug: debug.finish(),
        },
        code,
    }
}
