//! The stages strung together, for the CLI, the REPL and the library API:
//! source text in, a loaded [`jit::LoadedProgram`] or diagnostics out.

use std::io;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::ast::Span;
use crate::diag::{Diagnostic, Diagnostics, ErrorCode};
use crate::fault::Fault;
use crate::jit::LimitInterrupt;
use crate::{check, codegen, debuginfo, interp, ir, jit, parser};

// The limit lives with the parser, which enforces it; the tests and the
// stages' users find it here with the other limits.
#[cfg_attr(not(feature = "internals"), allow(unused_imports))]
pub use crate::parser::{MAX_ITEMS, MAX_NESTING};

/// Stack for the thread that compiles (the stages after parsing recurse per
/// nesting level). Reserved, not committed: only what is used costs memory.
pub const COMPILER_STACK_SIZE: usize = 4 << 30;

/// Wall time spent in each stage.
#[derive(Clone, Debug, Default)]
pub struct Timings {
    /// Lexing, parsing and checking each item, which run together (tokens
    /// stream into the parser, each parsed item into the checker), on the
    /// parsing threads.
    pub parse: Duration,
    /// Joining the checked items: declaring the definitions, resolving
    /// every call.
    pub resolve: Duration,
    pub codegen: Duration,
    pub load: Duration,
}

/// Largest source accepted, in bytes: room for a program of a million
/// functions (about 80 MB, 1.0 GiB and 4 s to compile and run). What
/// bounds memory per
/// source byte on hostile input: errors beyond the first hundred are only
/// counted (a flood of one-token errors took 160 bytes per byte), nesting
/// is refused at [`MAX_NESTING`] as the tokens pass (deep parentheses and
/// prefix operators took 60 and 80: the parser's stack and the tree), and
/// [`MAX_ITEMS`] bounds what the shortest items cost (`1` or `a` on every
/// line, a function each: 220 and 265). Measured at this limit
/// (`tests/hostile_input.rs`, full run, 2026-12-01), every hostile input
/// stays under 3.2 GiB: the most is `--emit asm` of bodies of a million
/// nodes filling the source (3.1 GiB; 0.9 GiB to compile and run them).
pub const MAX_SOURCE_LEN: usize = 96 << 20;

/// Reads the program file at `path`. The error is the one message, shared
/// by the command line and the REPL's `:load`, that says what is wrong:
/// `'/tmp' is a directory, not a program file`, `cannot read 'x.ex': no
/// such file`.
pub fn read_program_file(path: &Path) -> Result<Vec<u8>, String> {
    let name = path.display();
    let is_a_directory = || format!("'{name}' is a directory, not a program file");
    if path.is_dir() {
        return Err(is_a_directory());
    }
    read_whole(path).map_err(|error| match error.kind() {
        io::ErrorKind::IsADirectory => is_a_directory(),
        io::ErrorKind::NotFound => format!("cannot read '{name}': no such file"),
        io::ErrorKind::PermissionDenied => format!("cannot read '{name}': permission denied"),
        _ => format!("cannot read '{name}': {error}"),
    })
}

/// From this size on a file is read in two halves on two threads: the
/// time goes into giving the buffer its pages, which the two do side by
/// side (8 MB: about 6 ms on one).
const PARALLEL_READ: usize = 1 << 20;

/// The bytes of the file at `path`, as [`std::fs::read`] reads them.
fn read_whole(path: &Path) -> io::Result<Vec<u8>> {
    use std::io::{Read, Seek, SeekFrom};
    use std::os::unix::fs::FileExt;
    let mut file = std::fs::File::open(path)?;
    // Not a regular file (a pipe, /proc) or a small one: read to its end.
    let len = file.metadata()?.len();
    let Ok(len) = usize::try_from(len) else {
        return std::fs::read(path);
    };
    if len < PARALLEL_READ {
        let mut bytes = Vec::with_capacity(len);
        file.read_to_end(&mut bytes)?;
        return Ok(bytes);
    }
    let mut bytes = vec![0; len];
    let (first, second) = bytes.split_at_mut(len / 2);
    let halves = std::thread::scope(|scope| {
        let file = &file;
        let helper = std::thread::Builder::new()
            .name("exprjit-read".to_owned())
            .spawn_scoped(scope, move || file.read_exact_at(second, (len / 2) as u64));
        let mine = file.read_exact_at(first, 0);
        let theirs = match helper {
            Ok(helper) => helper
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            Err(error) => Err(error),
        };
        mine.and(theirs)
    });
    match halves {
        Ok(()) => {
            // The file may have grown since its length was read.
            file.seek(SeekFrom::Start(len as u64))?;
            file.read_to_end(&mut bytes)?;
            Ok(bytes)
        }
        // It shrank, or no thread could be started: read it plainly.
        Err(_) => std::fs::read(path),
    }
}

/// Converts raw bytes to text, or reports the first invalid UTF-8 sequence
/// together with a lossy text to show it in. A source longer than
/// [`MAX_SOURCE_LEN`] is refused (then the text is its first line).
pub fn decode_utf8(bytes: Vec<u8>) -> Result<String, Box<(String, Diagnostic)>> {
    if bytes.len() > MAX_SOURCE_LEN {
        let diagnostic = source_too_large(bytes.len());
        // Show the first line only: the excerpt needs no more.
        let first_line = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
        let text = String::from_utf8_lossy(first_line).into_owned();
        return Err(Box::new((text, diagnostic)));
    }
    String::from_utf8(bytes).map_err(|error| {
        let at = error.utf8_error().valid_up_to();
        let len = error.utf8_error().error_len().unwrap_or(1);
        let text = String::from_utf8_lossy(error.as_bytes()).into_owned();
        let diagnostic = Diagnostic::new(
            ErrorCode::InvalidUtf8,
            "invalid UTF-8 in source",
            Span::new(at, at + len),
        )
        .with_label("this byte is not valid UTF-8")
        .with_help("exprjit source files must be encoded as UTF-8");
        Box::new((text, diagnostic))
    })
}

/// The error for a source longer than [`MAX_SOURCE_LEN`].
fn source_too_large(len: usize) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::SourceTooLarge,
        format!(
            "source is too large ({len} bytes; the limit is {} MiB)",
            MAX_SOURCE_LEN >> 20
        ),
        Span::new(0, 0),
    )
}

/// Parses `source`. The parser reports (and drops) every item whose
/// expressions nest deeper than [`MAX_NESTING`], so that the stages after
/// parsing, which recurse per level (including `Display` for `--emit
/// ast`), never see one. A dropped definition counts as broken, so calls to
/// it are not also reported as calls to an unknown function.
pub fn parse(source: &str) -> parser::Parsed {
    parser::parse(source)
}

/// Parses and checks `source`, a program on its own.
pub fn front_end(
    source: &str,
    timings: &mut Timings,
) -> Result<ir::CheckedProgram, Diagnostics> {
    front_end_with(source, &check::NoEnvironment, &|| false, timings)
}

/// Parses and checks `source`, in which the functions of `env` (a REPL
/// session's earlier entries) are visible; see [`check::check_with`].
/// `cancelled` is asked between the stages: if it says yes, the one error
/// is [`interrupted`].
pub fn front_end_with(
    source: &str,
    env: &dyn check::Environment,
    cancelled: &dyn Fn() -> bool,
    timings: &mut Timings,
) -> Result<ir::CheckedProgram, Diagnostics> {
    // Files are refused by `decode_utf8` already; this catches text from
    // elsewhere (a REPL entry piped in as one huge line).
    if source.len() > MAX_SOURCE_LEN {
        return Err(source_too_large(source.len()).into());
    }
    // Each item is checked as soon as it has parsed, on the thread that
    // parsed it; the join then resolves the calls between items.
    let start = Instant::now();
    let (parsed, parts) = parser::parse_into(source, &check::ItemChecker::default);
    timings.parse = start.elapsed();
    let errors = parsed.errors;
    if parsed.too_many_items {
        // Only some items were read: checking them would report calls to
        // the functions never read.
        return Err(errors);
    }
    if cancelled() {
        return Err(interrupted().into());
    }
    let start = Instant::now();
    let checked = check::join_parts(parts, env, &parsed.broken_definitions);
    timings.resolve = start.elapsed();
    match checked {
        // Every error is reported at once: the syntax errors and those of
        // checking what did parse.
        Err(more) => {
            let mut errors = errors;
            errors.append(more);
            Err(errors)
        }
        Ok(_) if !errors.is_empty() => Err(errors),
        ok => ok,
    }
}

/// The error of a compile that an interrupt stopped.
pub fn interrupted() -> Diagnostic {
    Diagnostic::new(ErrorCode::Interrupted, "interrupted", Span::default())
}

/// Generates code for `program` and loads it into executable memory.
pub fn back_end(
    program: &ir::CheckedProgram,
    timings: &mut Timings,
) -> std::io::Result<jit::LoadedProgram> {
    back_end_with(program, false, None, timings)
}

/// Like [`back_end`]; with `batch_entries` the code can also run a function
/// once per row of a batch in one call (the library's `call_many`). With
/// `debug` (`-g`), the loaded code is registered with debuggers, described
/// as compiled from those sources; the time that takes counts as loading.
pub fn back_end_with(
    program: &ir::CheckedProgram,
    batch_entries: bool,
    debug: Option<&debuginfo::Sources>,
    timings: &mut Timings,
) -> std::io::Result<jit::LoadedProgram> {
    let options = codegen::Options {
        batch_entries,
        debug_info: debug.is_some(),
        function_table: None,
        no_inlining: false,
    };
    load_with(program, options, debug, timings)
}

/// Like [`back_end_with`], for a REPL entry whose calls to other entries'
/// functions go through the function table at `table`.
///
/// With `inline` off, no call is expanded in place.
pub fn back_end_linked(
    program: &ir::CheckedProgram,
    table: Option<u64>,
    inline: bool,
    debug: Option<&debuginfo::Sources>,
    timings: &mut Timings,
) -> std::io::Result<jit::LoadedProgram> {
    let options = codegen::Options {
        function_table: table,
        debug_info: debug.is_some(),
        batch_entries: false,
        no_inlining: !inline,
    };
    load_with(program, options, debug, timings)
}

/// Generates code for `program` with `options` and loads it.
fn load_with(
    program: &ir::CheckedProgram,
    options: codegen::Options,
    debug: Option<&debuginfo::Sources>,
    timings: &mut Timings,
) -> std::io::Result<jit::LoadedProgram> {
    let start = Instant::now();
    // The code stays in the parts' pieces, which loading moves into
    // executable memory one after another.
    let artifact = codegen::compile_pieced(program, options);
    timings.codegen += start.elapsed();
    let start = Instant::now();
    let mut loaded = jit::LoadedProgram::load(artifact, program.top_level.clone())?;
    if let Some(sources) = debug {
        let image = debuginfo::image(loaded.map(), loaded.base_address(), sources);
        loaded.register_debug_image(image);
    }
    timings.load += start.elapsed();
    Ok(loaded)
}

/// Writes the disassembly of the code generated for `program` to `out`
/// (`--emit asm`), a function at a time.
///
/// With `source` (the program's path and text), each run of instructions
/// is headed by the source line it computes, in colour if `colour`.
pub fn write_asm_listing(
    program: &ir::CheckedProgram,
    source: Option<(&str, &str)>,
    colour: bool,
    out: &mut dyn io::Write,
) -> io::Result<()> {
    let options = codegen::Options {
        batch_entries: false,
        debug_info: source.is_some(),
        function_table: None,
        no_inlining: false,
    };
    let artifact = codegen::compile_with(program, options);
    let sources = debuginfo::Sources {
        files: source.into_iter().collect(),
        func_file: Vec::new(),
    };
    let rows = artifact.map.debug.as_ref().map_or(&[][..], |t| &t.lines[..]);
    let view = crate::disasm::SourceView::new(rows, &sources, colour);
    crate::disasm::write_listing(&artifact, source.map(|_| &view), out)
}

/// Which back end runs a checked program.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum Backend {
    /// Compile to machine code and run it (the real thing).
    #[default]
    Jit,
    /// Walk the checked program with the reference interpreter ([`interp`]).
    Interp,
}

impl Backend {
    /// Every back end, as the user names it (`--backend`, `:backend`).
    pub const NAMES: [&'static str; 2] = ["jit", "interp"];

    /// The back end's name, one of [`Self::NAMES`].
    pub fn name(self) -> &'static str {
        match self {
            Backend::Jit => "jit",
            Backend::Interp => "interp",
        }
    }

    /// The back end named `name`, if there is one.
    pub fn from_name(name: &str) -> Option<Backend> {
        [Backend::Jit, Backend::Interp]
            .into_iter()
            .find(|backend| backend.name() == name)
    }
}

/// A checked program made ready to run by a [`Backend`].
pub enum Runner<'p> {
    Jit(Box<jit::LoadedProgram>),
    Interp(&'p ir::CheckedProgram),
}

impl<'p> Runner<'p> {
    /// Prepares `program` for `backend`: the JIT generates and loads code,
    /// the interpreter needs nothing.
    pub fn new(
        program: &'p ir::CheckedProgram,
        backend: Backend,
        timings: &mut Timings,
    ) -> std::io::Result<Runner<'p>> {
        Ok(match backend {
            Backend::Jit => Runner::Jit(Box::new(back_end(program, timings)?)),
            Backend::Interp => Runner::Interp(program),
        })
    }

    /// Like [`Runner::new`]; with `debug`, JIT code is registered with
    /// debuggers (see [`back_end_with`]).
    pub fn with_debug(
        program: &'p ir::CheckedProgram,
        backend: Backend,
        debug: Option<&debuginfo::Sources>,
        timings: &mut Timings,
    ) -> std::io::Result<Runner<'p>> {
        Ok(match backend {
            Backend::Jit => Runner::Jit(Box::new(back_end_with(program, false, debug, timings)?)),
            Backend::Interp => Runner::Interp(program),
        })
    }

    /// Calls function `func` with `args` (which must match its arity);
    /// `interrupt`, if given, can stop the call. The outer error is the
    /// system refusing memory for the JIT stack.
    pub fn call(
        &self,
        func: ir::FuncId,
        args: &[i64],
        interrupt: Option<&LimitInterrupt>,
    ) -> std::io::Result<Result<i64, Fault>> {
        match self {
            Runner::Jit(loaded) => loaded.call(func, args, interrupt),
            Runner::Interp(program) => Ok(interp::call(program, func, args, interrupt)),
        }
    }

    /// The loaded machine code, if the JIT prepared it.
    pub fn into_jit(self) -> Option<jit::LoadedProgram> {
        match self {
            Runner::Jit(loaded) => Some(*loaded),
            Runner::Interp(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_file_read_in_halves_is_read_whole() {
        let dir = std::env::temp_dir().join(format!("exprjit-read-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for len in [0, 10, PARALLEL_READ - 1, PARALLEL_READ, 3 * PARALLEL_READ + 7] {
            let path = dir.join(format!("{len}.ex"));
            let bytes: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            std::fs::write(&path, &bytes).unwrap();
            assert!(read_whole(&path).unwrap() == bytes, "{len} bytes");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
