//! The `exprjit` command: compile a program to machine code and run it
//! (`src/main.rs` only calls [`main`]). Built with the `cli` feature, which
//! brings in `clap` and, for the REPL, `rustyline`.

use std::io::{self, BufWriter, IsTerminal, Read, Write};
use std::mem::ManuallyDrop;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{CommandFactory, Parser, ValueEnum};

use crate::debuginfo;
use crate::diag::{self, Diagnostics, SourceFile};
use crate::lexer;
use crate::pipeline::{self, Backend, Runner, Timings};

/// Compile a program of integer functions to x86-64 machine code and run it.
#[derive(Parser, Debug)]
#[command(name = "exprjit", version, about, after_help = EXAMPLES)]
struct Cli {
    /// Program to run; `-` reads standard input (as does no FILE when stdin
    /// is not a terminal).
    #[arg(value_name = "FILE", conflicts_with = "expr")]
    file: Option<PathBuf>,

    /// Run SOURCE given on the command line instead of a file. SOURCE may
    /// start with `-` (`-e '-1 + 3'`).
    #[arg(
        short = 'e',
        long = "expr",
        value_name = "SOURCE",
        allow_hyphen_values = true
    )]
    expr: Option<String>,

    /// Compile only: report errors, run nothing.
    #[arg(long)]
    check: bool,

    /// Print an intermediate form instead of running.
    #[arg(long, value_enum, value_name = "FORM")]
    emit: Option<Emit>,

    /// What runs the program: `jit` (compile to machine code) or `interp`
    /// (the reference interpreter, which walks the checked program).
    #[arg(
        long,
        value_name = "BACKEND",
        default_value = "jit",
        value_parser = PossibleValuesParser::new(Backend::NAMES)
            .map(|name| Backend::from_name(&name).expect("a listed name")),
    )]
    backend: Backend,

    /// Print the time each phase took to stderr.
    #[arg(long)]
    time: bool,

    /// Append `START SIZE NAME` lines for the generated code to
    /// /tmp/perf-PID.map, so that `perf report` names JIT functions (also
    /// turned on by EXPRJIT_PERF_MAP=1).
    #[arg(long)]
    perf_map: bool,

    /// Describe the generated code to debuggers: register it through the
    /// GDB JIT interface with symbols, source lines and call-frame
    /// information, so that gdb can `break` on functions, show `bt` and
    /// `list` source (see the README, "Debugging and profiling").
    #[arg(short = 'g', long)]
    debug_info: bool,

    /// Write jit-PID.dump in the current directory (code, names and source
    /// lines of the generated code) for `perf record -k 1` and `perf inject
    /// --jit`, so that `perf annotate` shows JIT functions with source.
    /// Implies -g.
    #[arg(long)]
    perf_jitdump: bool,

    /// Start the interactive REPL even when stdin is not a terminal (then
    /// without line editing, echoing prompts and input).
    #[arg(short = 'i', long, conflicts_with_all = ["file", "expr"])]
    interactive: bool,

    /// When to colour diagnostics and the REPL's input: `auto` (on a
    /// terminal, unless NO_COLOR is set or TERM is dumb), `always` or
    /// `never`.
    #[arg(long, value_enum, value_name = "WHEN", default_value = "auto")]
    color: ColourWhen,

    /// Print a completion script for SHELL on stdout and exit (see the
    /// README for where to put it).
    #[arg(long, value_enum, value_name = "SHELL", exclusive = true)]
    completions: Option<clap_complete::Shell>,

    /// Print the manual page (roff) on stdout and exit.
    #[arg(long, exclusive = true)]
    man_page: bool,
}

/// `--color`: the values cargo and ripgrep use.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum ColourWhen {
    Auto,
    Always,
    Never,
}

impl From<ColourWhen> for diag::ColourChoice {
    fn from(when: ColourWhen) -> diag::ColourChoice {
        match when {
            ColourWhen::Auto => diag::ColourChoice::Auto,
            ColourWhen::Always => diag::ColourChoice::Always,
            ColourWhen::Never => diag::ColourChoice::Never,
        }
    }
}

const EXAMPLES: &str = "\
Examples:
  exprjit examples/fib.ex
  exprjit -e 'fn sq(x) = x * x; sq(12)'
  echo '1 + 2' | exprjit
  exprjit                      (on a terminal: the interactive REPL)

Exit status:
  0  success (also when the reader of the output went away, as with `| head`)
  1  a compile or runtime error, or output that could not be written
  2  a usage error (bad flag, unreadable file)

Environment:
  NO_COLOR=1          no colour under `--color auto` (the default)
  TERM=dumb           no colour under `--color auto`
  EXPRJIT_PERF_MAP=1  the same as --perf-map";

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum Emit {
    /// The token stream the parser sees.
    Tokens,
    /// The parsed syntax tree.
    Ast,
    /// The disassembled machine code of every function (address, bytes,
    /// instruction).
    Asm,
}

/// The longest `-e` source compiled on the main thread (see [`main`]):
/// at most 2,048 levels of nesting, about 1 MiB of stack at worst.
const SHORT_SOURCE: usize = 2048;

/// Exit status for compile and runtime errors.
const EXIT_ERROR: u8 = 1;
/// Exit status for usage errors (bad flags, unreadable input).
const EXIT_USAGE: u8 = 2;

/// Runs the `exprjit` command with the process's arguments; the binary's
/// `main` is only this.
pub fn main() -> ExitCode {
    crate::jit::mem::return_large_blocks();
    let cli = Cli::parse();
    // A program this short nests at most this deep, a few hundred bytes of
    // the compiler's stack a level: the main thread's stack is enough, and
    // a one-liner is spared the thread and its stack's reservation.
    if cli
        .expr
        .as_ref()
        .is_some_and(|source| source.len() <= SHORT_SOURCE)
    {
        return run(&cli);
    }
    // The compiler recurses once per nesting level of the program; give it a
    // stack sized for the deepest nesting it accepts.
    let worker = std::thread::Builder::new()
        .name("exprjit".into())
        .stack_size(pipeline::COMPILER_STACK_SIZE)
        .spawn(move || run(&cli));
    match worker.map(|handle| handle.join()) {
        Ok(Ok(code)) => code,
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(error) => {
            complain(format_args!("cannot start the compiler thread: {error}"));
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn run(cli: &Cli) -> ExitCode {
    diag::set_colour_choice(cli.color.into());
    if let Some(shell) = cli.completions {
        let mut script = Vec::new();
        clap_complete::generate(shell, &mut Cli::command(), "exprjit", &mut script);
        return write_output(&script).err().unwrap_or(ExitCode::SUCCESS);
    }
    if cli.man_page {
        let mut page = Vec::new();
        return match clap_mangen::Man::new(Cli::command()).render(&mut page) {
            Ok(()) => write_output(&page).err().unwrap_or(ExitCode::SUCCESS),
            Err(error) => output_failed(&error),
        };
    }
    let stdin_is_terminal = io::stdin().is_terminal();
    if cli.interactive || (cli.file.is_none() && cli.expr.is_none() && stdin_is_terminal) {
        return match crate::repl::run(stdin_is_terminal, cli.backend, cli.debug_info) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) if error.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
            Err(error) => {
                complain(format_args!("{error}"));
                ExitCode::from(EXIT_ERROR)
            }
        };
    }
    let source = match read_source(cli) {
        Ok(source) => source,
        Err(code) => return code,
    };
    let file = source;
    let mut timings = Timings::default();

    match cli.emit {
        Some(Emit::Tokens) => return emit_tokens(&file),
        Some(Emit::Ast) => return emit_ast(&file),
        _ => {}
    }

    // The process ends soon after: the checked program and the loaded code
    // are left to the OS rather than freed node by node (and unmapped)
    // just before exit.
    let program = match pipeline::front_end(&file.text, &mut timings) {
        Ok(program) => ManuallyDrop::new(program),
        Err(errors) => {
            diag::emit_to_stderr(&file, &errors);
            return ExitCode::from(EXIT_ERROR);
        }
    };
    if cli.check {
        report_timings(cli, &timings, None);
        return ExitCode::SUCCESS;
    }
    if cli.emit == Some(Emit::Asm) {
        return emit_asm(&program, &file);
    }
    // Debuggers read the source from a file: `-e` and standard input get
    // one in the temporary directory, removed when the run ends.
    let debug_file = (cli.debug_info || cli.perf_jitdump).then(|| DebugSourceFile::new(&file));
    let sources = debug_file.as_ref().map(|debug| debuginfo::Sources {
        files: vec![(debug.path.as_str(), file.text.as_str())],
        func_file: Vec::new(),
    });
    let runner = match Runner::with_debug(&program, cli.backend, sources.as_ref(), &mut timings) {
        Ok(runner) => ManuallyDrop::new(runner),
        Err(error) => {
            complain(format_args!("cannot map executable memory: {error}"));
            return ExitCode::from(EXIT_ERROR);
        }
    };

    if let Runner::Jit(loaded) = &*runner
        && (cli.perf_map || crate::perf_map::requested_by_env())
        && let Err(error) = crate::perf_map::write(loaded)
    {
        complain(format_args!(
            "cannot write {}: {error}",
            crate::perf_map::path().display()
        ));
    }

    // Kept open (and its marker mapped) until the run ends.
    let mut _jitdump = None;
    if let (Runner::Jit(loaded), true, Some(sources)) = (&*runner, cli.perf_jitdump, &sources) {
        let written = crate::perf_jitdump::JitDump::create().and_then(|mut dump| {
            dump.write_program(loaded, sources)?;
            Ok(dump)
        });
        match written {
            Ok(dump) => _jitdump = Some(dump),
            Err(error) => complain(format_args!(
                "cannot write {}: {error}",
                crate::perf_jitdump::path().display()
            )),
        }
    }

    let start = Instant::now();
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut status = ExitCode::SUCCESS;
    for &func in &program.top_level {
        match runner.call(func, &[], None) {
            Ok(Ok(value)) => {
                if let Err(error) = writeln!(out, "{value}") {
                    return output_failed(&error);
                }
            }
            Ok(Err(error)) => {
                // The values come first, as they were computed first.
                if let Err(error) = out.flush() {
                    return output_failed(&error);
                }
                diag::emit_to_stderr(&file, &error.to_diagnostic().into());
                status = ExitCode::from(EXIT_ERROR);
                break;
            }
            Err(error) => {
                if let Err(error) = out.flush() {
                    return output_failed(&error);
                }
                complain(format_args!("cannot allocate the JIT stack: {error}"));
                status = ExitCode::from(EXIT_ERROR);
                break;
            }
        }
    }
    if let Err(error) = out.flush() {
        return output_failed(&error);
    }
    report_timings(cli, &timings, Some(start.elapsed()));
    status
}

/// Writes `bytes` to stdout and flushes; a failure is the exit status that
/// [`output_failed`] picks.
fn write_output(bytes: &[u8]) -> Result<(), ExitCode> {
    let mut stdout = io::stdout().lock();
    stdout
        .write_all(bytes)
        .and_then(|()| stdout.flush())
        .map_err(|error| output_failed(&error))
}

/// The end of a program whose output could not be written. A closed pipe
/// (`exprjit ... | head -1`) means the reader has all it wants: stop
/// quietly, as `cat` and `rg` do. Anything else (a full disk, `/dev/full`)
/// loses output the user will not see, so it is an error.
fn output_failed(error: &io::Error) -> ExitCode {
    if error.kind() == io::ErrorKind::BrokenPipe {
        return ExitCode::SUCCESS;
    }
    complain(format_args!("cannot write the output: {error}"));
    ExitCode::from(EXIT_ERROR)
}

/// Prints `exprjit: MESSAGE` on stderr. If stderr itself cannot be written
/// there is nobody left to tell, so that failure is ignored (`eprintln!`
/// would panic instead).
fn complain(message: std::fmt::Arguments<'_>) {
    let _ = writeln!(io::stderr().lock(), "exprjit: {message}");
}

/// Reads the program named on the command line. Usage errors are reported
/// here and turned into exit status 2.
fn read_source(cli: &Cli) -> Result<SourceFile, ExitCode> {
    let (name, bytes) = if let Some(expr) = &cli.expr {
        ("<expr>".to_owned(), expr.clone().into_bytes())
    } else {
        match cli.file.as_deref() {
            Some(path) if path.as_os_str() != "-" => match pipeline::read_program_file(path) {
                Ok(bytes) => (path.display().to_string(), bytes),
                Err(message) => {
                    complain(format_args!("{message}"));
                    return Err(ExitCode::from(EXIT_USAGE));
                }
            },
            Some(_) => read_stdin()?,
            None => read_stdin()?,
        }
    };
    match pipeline::decode_utf8(bytes) {
        Ok(text) => Ok(SourceFile::new(name, text)),
        Err(invalid) => {
            let (text, diagnostic) = *invalid;
            diag::emit_to_stderr(&SourceFile::new(name, text), &diagnostic.into());
            Err(ExitCode::from(EXIT_ERROR))
        }
    }
}

/// The path debuggers are given for the source of a run: the file's own,
/// or for `-e` and standard input a copy in the temporary directory,
/// removed when this is dropped.
struct DebugSourceFile {
    path: String,
    temporary: bool,
}

impl DebugSourceFile {
    fn new(file: &SourceFile) -> DebugSourceFile {
        if !file.name.starts_with('<') {
            return DebugSourceFile {
                path: file.name.clone(),
                temporary: false,
            };
        }
        let kind = file.name.trim_matches(['<', '>']);
        let path = std::env::temp_dir().join(format!("exprjit-{}-{kind}.ex", std::process::id()));
        // Without the copy, `list` has nothing to show; the rest works.
        let temporary = std::fs::write(&path, &file.text).is_ok();
        DebugSourceFile {
            path: path.display().to_string(),
            temporary,
        }
    }
}

impl Drop for DebugSourceFile {
    fn drop(&mut self) {
        if self.temporary {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

fn read_stdin() -> Result<(String, Vec<u8>), ExitCode> {
    let mut bytes = Vec::new();
    match io::stdin().lock().read_to_end(&mut bytes) {
        Ok(_) => Ok(("<stdin>".to_owned(), bytes)),
        Err(error) => {
            complain(format_args!("cannot read standard input: {error}"));
            Err(ExitCode::from(EXIT_USAGE))
        }
    }
}

fn emit_tokens(file: &SourceFile) -> ExitCode {
    // Tokens are written as they are lexed, never all held at once.
    let mut tokens = lexer::Tokens::new(&file.text);
    let mut out = BufWriter::new(io::stdout().lock());
    // Tokens come in source order: advance a cursor rather than count from
    // the start of the file for each one (quadratic on a long line).
    let (mut line, mut col, mut at) = (1, 1, 0);
    for (start, token, end) in tokens.by_ref() {
        for ch in file.text[at..start].chars() {
            if ch == '\n' {
                line += 1;
                col = 1;
            } else {
                col += 1;
            }
        }
        at = start;
        let token = token.shown(&file.text[start..end]);
        if let Err(error) = writeln!(out, "{line}:{col} {token}") {
            return output_failed(&error);
        }
    }
    match out.flush() {
        Ok(()) => finish(file, &tokens.errors),
        Err(error) => output_failed(&error),
    }
}

fn emit_ast(file: &SourceFile) -> ExitCode {
    let parsed = pipeline::parse(&file.text);
    match write_output(parsed.program.to_string().as_bytes()) {
        Ok(()) => finish(file, &parsed.errors),
        Err(failed) => failed,
    }
}

fn emit_asm(program: &crate::ir::CheckedProgram, file: &SourceFile) -> ExitCode {
    let colour = diag::wants_colour(io::stdout().is_terminal());
    let source = Some((file.name.as_str(), file.text.as_str()));
    let mut stdout = io::BufWriter::new(io::stdout().lock());
    pipeline::write_asm_listing(program, source, colour, &mut stdout)
        .and_then(|()| stdout.flush())
        .map_or_else(|error| output_failed(&error), |()| ExitCode::SUCCESS)
}

/// Reports `errors` (if any) and picks the exit status.
fn finish(file: &SourceFile, errors: &Diagnostics) -> ExitCode {
    if errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        diag::emit_to_stderr(file, errors);
        ExitCode::from(EXIT_ERROR)
    }
}

fn report_timings(cli: &Cli, timings: &Timings, run: Option<Duration>) {
    if !cli.time {
        return;
    }
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let mut report = format!(
        "parse    {:9.3} ms\nresolve  {:9.3} ms\n",
        ms(timings.parse),
        ms(timings.resolve)
    );
    if let Some(run) = run {
        report.push_str(&format!(
            "codegen  {:9.3} ms\nload     {:9.3} ms\nrun      {:9.3} ms\n",
            ms(timings.codegen),
            ms(timings.load),
            ms(run)
        ));
    }
    // A report nobody can see is not worth failing the run for.
    let _ = io::stderr().lock().write_all(report.as_bytes());
}
