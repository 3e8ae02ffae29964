//! The `exprjit` command: compile a program to machine code and run it.

use std::io::{self, BufWriter, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Parser, ValueEnum};

use exprjit::diag::{self, Diagnostic, SourceFile};
use exprjit::lexer;
use exprjit::pipeline::{self, Backend, Runner, Timings};

/// Compile a program of integer functions to x86-64 machine code and run it.
#[derive(Parser, Debug)]
#[command(name = "exprjit", version, about, after_help = EXAMPLES)]
struct Cli {
    /// Program to run; `-` reads standard input (as does no FILE when stdin
    /// is not a terminal).
    #[arg(value_name = "FILE", conflicts_with = "expr")]
    file: Option<PathBuf>,

    /// Run SOURCE given on the command line instead of a file.
    #[arg(short = 'e', long = "expr", value_name = "SOURCE")]
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

    /// Start the interactive REPL even when stdin is not a terminal (then
    /// without line editing, echoing prompts and input).
    #[arg(short = 'i', long, conflicts_with_all = ["file", "expr"])]
    interactive: bool,
}

const EXAMPLES: &str = "\
Examples:
  exprjit examples/fib.ex
  exprjit -e 'fn sq(x) = x * x; sq(12)'
  echo '1 + 2' | exprjit
  exprjit                      (on a terminal: the interactive REPL)";

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum Emit {
    /// The token stream the parser sees.
    Tokens,
    /// The parsed syntax tree.
    Ast,
    /// The generated machine code, as hex bytes per function.
    Asm,
}

/// Exit status for compile and runtime errors.
const EXIT_ERROR: u8 = 1;
/// Exit status for usage errors (bad flags, unreadable input).
const EXIT_USAGE: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
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
            eprintln!("exprjit: cannot start the compiler thread: {error}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn run(cli: &Cli) -> ExitCode {
    let stdin_is_terminal = io::stdin().is_terminal();
    if cli.interactive || (cli.file.is_none() && cli.expr.is_none() && stdin_is_terminal) {
        return match exprjit::repl::run(stdin_is_terminal, cli.backend) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("exprjit: {error}");
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

    let program = match pipeline::front_end(&file.text, &[], &mut timings) {
        Ok(program) => program,
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
        return emit_asm(&program);
    }
    let runner = match Runner::new(&program, cli.backend, &mut timings) {
        Ok(runner) => runner,
        Err(error) => {
            eprintln!("exprjit: cannot map executable memory: {error}");
            return ExitCode::from(EXIT_ERROR);
        }
    };

    if let Runner::Jit(loaded) = &runner
        && (cli.perf_map || exprjit::perf_map::requested_by_env())
        && let Err(error) = exprjit::perf_map::write(loaded)
    {
        eprintln!(
            "exprjit: cannot write {}: {error}",
            exprjit::perf_map::path().display()
        );
    }

    let start = Instant::now();
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut status = ExitCode::SUCCESS;
    for &func in &program.top_level {
        match runner.call(func, &[], None) {
            Ok(Ok(value)) => {
                if writeln!(out, "{value}").is_err() {
                    // The reader went away (e.g. `| head`): stop quietly.
                    return ExitCode::SUCCESS;
                }
            }
            Ok(Err(error)) => {
                let _ = out.flush();
                diag::emit_to_stderr(&file, &[error.to_diagnostic()]);
                status = ExitCode::from(EXIT_ERROR);
                break;
            }
            Err(error) => {
                let _ = out.flush();
                eprintln!("exprjit: cannot allocate the JIT stack: {error}");
                status = ExitCode::from(EXIT_ERROR);
                break;
            }
        }
    }
    let _ = out.flush();
    report_timings(cli, &timings, Some(start.elapsed()));
    status
}

/// Reads the program named on the command line. Usage errors are reported
/// here and turned into exit status 2.
fn read_source(cli: &Cli) -> Result<SourceFile, ExitCode> {
    let (name, bytes) = if let Some(expr) = &cli.expr {
        ("<expr>".to_owned(), expr.clone().into_bytes())
    } else {
        match cli.file.as_deref() {
            Some(path) if path.as_os_str() != "-" => {
                let name = path.display().to_string();
                if path.is_dir() {
                    eprintln!("exprjit: '{name}' is a directory, not a program file");
                    return Err(ExitCode::from(EXIT_USAGE));
                }
                match std::fs::read(path) {
                    Ok(bytes) => (name, bytes),
                    Err(error) => {
                        eprintln!(
                            "exprjit: cannot read '{name}': {}",
                            describe_io_error(&error)
                        );
                        return Err(ExitCode::from(EXIT_USAGE));
                    }
                }
            }
            Some(_) => read_stdin()?,
            None => read_stdin()?,
        }
    };
    match pipeline::decode_utf8(bytes) {
        Ok(text) => Ok(SourceFile::new(name, text)),
        Err(invalid) => {
            let (text, diagnostic) = *invalid;
            diag::emit_to_stderr(&SourceFile::new(name, text), &[diagnostic]);
            Err(ExitCode::from(EXIT_ERROR))
        }
    }
}

fn read_stdin() -> Result<(String, Vec<u8>), ExitCode> {
    let mut bytes = Vec::new();
    match io::stdin().lock().read_to_end(&mut bytes) {
        Ok(_) => Ok(("<stdin>".to_owned(), bytes)),
        Err(error) => {
            eprintln!("exprjit: cannot read standard input: {error}");
            Err(ExitCode::from(EXIT_USAGE))
        }
    }
}

/// An I/O error's message without the "(os error N)" suffix.
fn describe_io_error(error: &io::Error) -> String {
    match error.kind() {
        io::ErrorKind::NotFound => "no such file".to_owned(),
        io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => error.to_string(),
    }
}

fn emit_tokens(file: &SourceFile) -> ExitCode {
    let lexed = lexer::tokenize(&file.text);
    let mut out = String::new();
    // Tokens come in source order: advance a cursor rather than count from
    // the start of the file for each one (quadratic on a long line).
    let (mut line, mut col, mut at) = (1, 1, 0);
    for (start, token, _) in &lexed.tokens {
        for ch in file.text[at..*start].chars() {
            if ch == '\n' {
                line += 1;
                col = 1;
            } else {
                col += 1;
            }
        }
        at = *start;
        out.push_str(&format!("{line}:{col} {token}\n"));
    }
    print!("{out}");
    finish(file, &lexed.errors)
}

fn emit_ast(file: &SourceFile) -> ExitCode {
    let parsed = pipeline::parse(&file.text);
    print!("{}", parsed.program);
    finish(file, &parsed.errors)
}

fn emit_asm(program: &exprjit::ir::Program) -> ExitCode {
    print!("{}", pipeline::asm_listing(program));
    ExitCode::SUCCESS
}

/// Reports `errors` (if any) and picks the exit status.
fn finish(file: &SourceFile, errors: &[Diagnostic]) -> ExitCode {
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
    eprintln!("lex      {:9.3} ms", ms(timings.lex));
    eprintln!("parse    {:9.3} ms", ms(timings.parse));
    eprintln!("check    {:9.3} ms", ms(timings.check));
    if let Some(run) = run {
        eprintln!("codegen  {:9.3} ms", ms(timings.codegen));
        eprintln!("load     {:9.3} ms", ms(timings.load));
        eprintln!("run      {:9.3} ms", ms(run));
    }
}
