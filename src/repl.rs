//! The interactive REPL: line editing (`rustyline`) on a terminal, or plain
//! prompts and echoed input for `exprjit -i` driven by a pipe. The language
//! work is done by [`Session`]; this module is input, output and
//! meta-commands.

use std::borrow::Cow;
use std::io::{self, BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::time::Instant;

use rustyline::completion::Completer;
use rustyline::error::ReadlineError;
use rustyline::highlight::{CmdKind, Highlighter};
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Context, Editor, Helper};

use crate::diag::{self, SourceFile};
use crate::jit::Interrupt;
use crate::lexer::{self, Token};
use crate::parser;
use crate::pipeline::Backend;
use crate::session::{Failure, Outcome, Reply, Session};

const PROMPT: &str = "exprjit> ";
const CONTINUATION_PROMPT: &str = "   ...> ";

/// The meta-commands, with their one-line help.
const COMMANDS: [(&str, &str); 9] = [
    (":help", "this help"),
    (":list", "every defined function"),
    (":asm NAME", "the machine code of function NAME"),
    (
        ":ast ENTRY",
        "the syntax tree of an expression or definition",
    ),
    (":time ENTRY", "run ENTRY and show compile and run times"),
    (
        ":load FILE",
        "run a file's definitions and expressions in the session",
    ),
    (":reset", "forget every definition"),
    (
        ":backend [B]",
        "show, or set to jit or interp, what runs entries",
    ),
    (":quit", "leave (so does Ctrl-D)"),
];

const LANGUAGE_SUMMARY: &str = "\
Define functions and evaluate expressions over 64-bit integers:
  fn fib(n) = if n < 2 then n else fib(n - 1) + fib(n - 2)
  fib(30)
  let x = 6 in x * 7
Operators, lowest precedence first: || && (== != < <= > >=) | ^ & (<< >>)
(+ -) (* / %), prefix - ! ~. Comparisons and logic give 0 or 1; && and ||
short-circuit; arithmetic wraps; / and % by zero are errors. Items are
separated by newlines or `;`; an unfinished entry continues on the next line.
Ctrl-C stops a running computation; Ctrl-D or :quit leaves.";

/// The interrupt that Ctrl-C requests while JIT code runs.
static CTRL_C: Interrupt = Interrupt::new();

/// Runs the REPL until the user leaves. `line_editing` selects rustyline;
/// without it prompts and input are echoed to stdout (for pipes).
pub fn run(line_editing: bool, backend: Backend) -> io::Result<()> {
    arm_ctrl_c();
    let mut session = Session::new();
    session.set_backend(backend);
    let mut repl = Repl {
        session,
        entries: 0,
    };
    if line_editing {
        repl.run_editor()
    } else {
        repl.run_plain()
    }
}

/// Makes Ctrl-C (SIGINT) stop the running computation.
fn arm_ctrl_c() {
    if let Err(error) = crate::jit::runtime::install_sigint_handler(&CTRL_C) {
        eprintln!("exprjit: Ctrl-C will not stop computations: {error}");
    }
}

struct Repl {
    session: Session,
    /// Entries evaluated so far; names the source of each (`<entry N>`).
    entries: usize,
}

/// What to do after an entry.
#[derive(PartialEq, Eq)]
enum Next {
    Continue,
    Quit,
}

impl Repl {
    fn run_editor(&mut self) -> io::Result<()> {
        let mut editor: Editor<ReplHelper, DefaultHistory> =
            Editor::new().map_err(io::Error::other)?;
        editor.set_helper(Some(ReplHelper {
            names: Vec::new(),
            colour: stdout_wants_colour(),
        }));
        let history = history_path();
        if let Some(path) = &history {
            let _ = editor.load_history(path);
        }
        println!(
            "exprjit {} — :help for help, Ctrl-D to leave",
            env!("CARGO_PKG_VERSION")
        );
        loop {
            if let Some(helper) = editor.helper_mut() {
                helper.names = self.session.names().map(str::to_owned).collect();
            }
            match editor.readline(PROMPT) {
                Ok(line) => {
                    if !line.trim().is_empty() {
                        let _ = editor.add_history_entry(line.as_str());
                        if let Some(path) = &history {
                            let _ = editor.save_history(path);
                        }
                    }
                    // rustyline keeps its own SIGINT handler installed from
                    // `Editor::new` on; ours must be the one while code runs.
                    arm_ctrl_c();
                    if self.entry(&line) == Next::Quit {
                        break;
                    }
                }
                // Ctrl-C while editing clears the line.
                Err(ReadlineError::Interrupted) => continue,
                Err(ReadlineError::Eof) => break,
                Err(error) => return Err(io::Error::other(error)),
            }
        }
        Ok(())
    }

    /// Prompts and echoes input on stdout so that the output reads as a
    /// transcript; an unfinished entry takes more lines.
    fn run_plain(&mut self) -> io::Result<()> {
        let stdin = io::stdin();
        let mut lines = stdin.lock().lines();
        let mut stdout = io::stdout();
        loop {
            write!(stdout, "{PROMPT}")?;
            stdout.flush()?;
            let Some(first) = lines.next().transpose()? else {
                writeln!(stdout)?;
                return Ok(());
            };
            writeln!(stdout, "{first}")?;
            let mut entry = first;
            while !entry.trim_start().starts_with(':') && parser::parse(&entry).incomplete {
                write!(stdout, "{CONTINUATION_PROMPT}")?;
                let Some(more) = lines.next().transpose()? else {
                    break;
                };
                writeln!(stdout, "{more}")?;
                entry.push('\n');
                entry.push_str(&more);
            }
            if self.entry(&entry) == Next::Quit {
                return Ok(());
            }
        }
    }

    /// Handles one entry: a meta-command or source.
    fn entry(&mut self, line: &str) -> Next {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            return Next::Continue;
        }
        let Some(command) = trimmed.strip_prefix(':') else {
            self.eval(line, false);
            return Next::Continue;
        };
        let (name, argument) = command
            .split_once(char::is_whitespace)
            .map_or((command, ""), |(name, rest)| (name, rest.trim()));
        match (name, argument) {
            ("quit" | "q", _) => return Next::Quit,
            ("help" | "h", _) => print_help(),
            ("list", _) => {
                let signatures: Vec<&str> = self.session.signatures().collect();
                if signatures.is_empty() {
                    println!("no functions defined yet");
                }
                for signature in signatures {
                    println!("fn {signature}");
                }
            }
            ("reset", _) => {
                self.session.reset();
                println!("all definitions forgotten");
            }
            ("backend", name) => {
                let backend = match name {
                    "" => Some(self.session.backend()),
                    _ => Backend::from_name(name),
                };
                let Some(backend) = backend else {
                    eprintln!(
                        "error: unknown backend '{name}': the backends are {}",
                        Backend::NAMES.join(" and ")
                    );
                    return Next::Continue;
                };
                self.session.set_backend(backend);
                println!("backend: {}", backend.name());
            }
            ("asm", "") => eprintln!("error: :asm needs a function name, as in :asm fib"),
            ("asm", function) => match self.session.disassemble(function) {
                Some(text) => print!("{text}"),
                None => match crate::suggest::closest(function, self.session.names()) {
                    Some(near) => {
                        eprintln!("error: no function named '{function}'; did you mean '{near}'?")
                    }
                    None => eprintln!("error: no function named '{function}'"),
                },
            },
            ("ast", "") => eprintln!("error: :ast needs an expression or definition"),
            ("ast", source) => {
                let parsed = crate::pipeline::parse(source);
                print!("{}", parsed.program);
                let file = SourceFile::new(self.next_entry_name(), source);
                diag::emit_to_stderr(&file, &parsed.errors);
            }
            ("time", "") => eprintln!("error: :time needs an expression"),
            ("time", source) => self.eval(source, true),
            ("load", "") => eprintln!("error: :load needs a file name"),
            ("load", path) => self.load(path),
            _ => {
                let names: Vec<&str> = COMMANDS
                    .iter()
                    .map(|(usage, _)| usage.split(' ').next().unwrap_or(usage))
                    .collect();
                let command = format!(":{name}");
                match crate::suggest::closest(&command, names.iter().copied()) {
                    Some(near) => {
                        eprintln!("error: unknown command '{command}'; did you mean '{near}'?")
                    }
                    None => eprintln!("error: unknown command '{command}'"),
                }
                eprintln!("the commands are: {}", names.join(" "));
            }
        }
        Next::Continue
    }

    fn next_entry_name(&mut self) -> String {
        self.entries += 1;
        format!("<entry {}>", self.entries)
    }

    fn eval(&mut self, source: &str, show_times: bool) {
        let name = self.next_entry_name();
        self.eval_named(&name, source, show_times);
    }

    fn eval_named(&mut self, name: &str, source: &str, show_times: bool) {
        let start = Instant::now();
        let outcome = self.session.eval(name, source, Some(&CTRL_C));
        let total = start.elapsed();
        report(&outcome);
        if show_times {
            let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
            let compile = total.saturating_sub(outcome.run);
            println!(
                "compile {:.3} ms (lex {:.3}, parse {:.3}, check {:.3}, codegen {:.3}, load {:.3}), run {:.3} ms",
                ms(compile),
                ms(outcome.timings.lex),
                ms(outcome.timings.parse),
                ms(outcome.timings.check),
                ms(outcome.timings.codegen),
                ms(outcome.timings.load),
                ms(outcome.run)
            );
        }
    }

    fn load(&mut self, path: &str) {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                eprintln!("error: cannot read '{path}': no such file");
                return;
            }
            Err(error) => {
                eprintln!("error: cannot read '{path}': {error}");
                return;
            }
        };
        match crate::pipeline::decode_utf8(bytes) {
            Ok(text) => self.eval_named(path, &text, false),
            Err(invalid) => {
                let (text, diagnostic) = *invalid;
                diag::emit_to_stderr(&SourceFile::new(path, text), &[diagnostic]);
            }
        }
    }
}

/// Prints an entry's replies and its error, if any.
fn report(outcome: &Outcome) {
    let mut stdout = io::stdout().lock();
    // A failed entry defines nothing, so only its values are worth showing.
    let failed = outcome.failure.is_some();
    for reply in &outcome.replies {
        if failed && matches!(reply, Reply::Defined { .. }) {
            continue;
        }
        let _ = match reply {
            Reply::Defined {
                signature,
                redefined: false,
            } => writeln!(stdout, "defined {signature}"),
            Reply::Defined {
                signature,
                redefined: true,
            } => writeln!(stdout, "redefined {signature}"),
            Reply::Value(value) => writeln!(stdout, "{value}"),
        };
    }
    let _ = stdout.flush();
    match &outcome.failure {
        None => {}
        Some(Failure::Errors { file, diagnostics }) => diag::emit_to_stderr(file, diagnostics),
        Some(Failure::Interrupted) => eprintln!("interrupted"),
        Some(Failure::System(message)) => eprintln!("error: {message}"),
    }
}

fn print_help() {
    println!("Commands:");
    for (usage, what) in COMMANDS {
        println!("  {usage:<13} {what}");
    }
    println!();
    println!("{LANGUAGE_SUMMARY}");
}

/// `$XDG_STATE_HOME/exprjit/history`, else `~/.local/state/exprjit/history`;
/// `None` (no history) if the directory cannot be made.
fn history_path() -> Option<PathBuf> {
    let state = std::env::var_os("XDG_STATE_HOME")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".local/state"))
        })?;
    let dir = state.join("exprjit");
    std::fs::create_dir_all(&dir).ok()?;
    Some(dir.join("history"))
}

fn stdout_wants_colour() -> bool {
    io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Line-editing support: multi-line entry, completion and colouring.
struct ReplHelper {
    /// Defined function names, for completion.
    names: Vec<String>,
    colour: bool,
}

impl Helper for ReplHelper {}

impl Hinter for ReplHelper {
    type Hint = String;
}

impl Validator for ReplHelper {
    /// An entry that stops in the middle of an item (open parenthesis,
    /// trailing operator, `if` without `else`...) continues on a new line.
    fn validate(&self, ctx: &mut ValidationContext<'_>) -> rustyline::Result<ValidationResult> {
        let input = ctx.input();
        if !input.trim_start().starts_with(':') && parser::parse(input).incomplete {
            Ok(ValidationResult::Incomplete)
        } else {
            Ok(ValidationResult::Valid(None))
        }
    }
}

impl Completer for ReplHelper {
    type Candidate = String;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        let before = &line[..pos];
        let start = before
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
            .map_or(0, |i| i + 1);
        let word = &before[start..];
        let candidates: Vec<String> = if start == 0 && word.starts_with(':') {
            COMMANDS
                .iter()
                .map(|(usage, _)| usage.split(' ').next().unwrap_or(usage))
                .filter(|command| command.starts_with(word))
                .map(str::to_owned)
                .collect()
        } else {
            self.names
                .iter()
                .filter(|name| name.starts_with(word))
                .cloned()
                .collect()
        };
        Ok((start, candidates))
    }
}

impl Highlighter for ReplHelper {
    /// Keywords in magenta, numbers in cyan, operators in yellow.
    fn highlight<'l>(&self, line: &'l str, _pos: usize) -> Cow<'l, str> {
        if !self.colour || line.trim_start().starts_with(':') {
            return Cow::Borrowed(line);
        }
        let mut out = String::with_capacity(line.len() * 2);
        let mut last = 0;
        for (start, token, end) in lexer::tokenize(line).tokens {
            let colour = match token {
                token if token.is_keyword() => "35",
                Token::Int(_) => "36",
                Token::Ident(_) | Token::Newline | Token::Error => continue,
                Token::LParen | Token::RParen | Token::Comma | Token::Semicolon => continue,
                _ => "33",
            };
            out.push_str(&line[last..start]);
            out.push_str(&format!("\x1b[{colour}m{}\x1b[0m", &line[start..end]));
            last = end;
        }
        out.push_str(&line[last..]);
        Cow::Owned(out)
    }

    fn highlight_char(&self, _line: &str, _pos: usize, _kind: CmdKind) -> bool {
        self.colour
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn helper(colour: bool) -> ReplHelper {
        ReplHelper {
            names: vec!["fib".into(), "fact".into(), "gcd".into()],
            colour,
        }
    }

    #[test]
    fn tab_completes_commands_and_function_names() {
        let history = DefaultHistory::new();
        let ctx = Context::new(&history);
        let (start, found) = helper(false).complete(":ti", 3, &ctx).unwrap();
        assert_eq!((start, found), (0, vec![":time".to_owned()]));
        let (start, found) = helper(false).complete("1 + f", 5, &ctx).unwrap();
        assert_eq!(
            (start, found),
            (4, vec!["fib".to_owned(), "fact".to_owned()])
        );
    }

    #[test]
    fn colours_only_when_asked() {
        assert_eq!(
            helper(false).highlight("if 1 then 2 else 3", 0),
            "if 1 then 2 else 3"
        );
        let coloured = helper(true).highlight("x + 1", 0);
        assert_eq!(coloured, "x \x1b[33m+\x1b[0m \x1b[36m1\x1b[0m");
    }
}
