//! The interactive REPL: line editing (`rustyline`) on a terminal, or plain
//! prompts and echoed input for `exprjit -i` driven by a pipe. The language
//! work is done by [`Session`]; this module is input, output and
//! meta-commands ([`helper`] is the editor's completion and colouring).
//!
//! Both front ends read an entry a line at a time, showing the continuation
//! prompt while [`continuation::Entry`] says the entry goes on, and every
//! write to stdout is checked: output that cannot be written ends the REPL
//! with the error (a closed pipe, quietly: see `main.rs`).

mod helper;

use std::io::{self, BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::time::Instant;

use rustyline::error::ReadlineError;
use rustyline::history::DefaultHistory;
use rustyline::{Config, Editor, EventHandler, KeyEvent};

use crate::continuation;
use crate::diag::{self, SourceFile};
use crate::jit::LimitInterrupt;
use crate::pipeline::Backend;
use crate::session::{Failure, Outcome, Reply, Session, Undefined};
use helper::{COMMANDS, ReplHelper, TabIndentsAtLineStart};

const PROMPT: &str = "exprjit> ";
const CONTINUATION_PROMPT: &str = "   ...> ";

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
static CTRL_C: LimitInterrupt = LimitInterrupt::new();

/// Runs the REPL until the user leaves. `line_editing` selects rustyline;
/// without it prompts and input are echoed to stdout (for pipes). Fails
/// when stdout cannot be written (or the terminal cannot be read).
pub fn run(line_editing: bool, backend: Backend, debug_info: bool) -> io::Result<()> {
    arm_ctrl_c();
    let mut session = Session::new();
    session.set_backend(backend);
    session.set_debug_info(debug_info);
    let mut repl = Repl {
        session,
        entries: 0,
        out: io::stdout(),
    };
    let result = if line_editing {
        repl.run_editor()
    } else {
        repl.run_plain()
    };
    result.and_then(|()| repl.out.flush())
}

/// Makes Ctrl-C (SIGINT) stop the running computation.
fn arm_ctrl_c() {
    if let Err(error) = crate::jit::runtime::install_sigint_handler(&CTRL_C) {
        complain(format_args!("Ctrl-C will not stop computations: {error}"));
    }
}

/// Prints an error line on stderr. If stderr cannot be written there is
/// nobody left to tell, so that failure is ignored.
fn complain(message: std::fmt::Arguments<'_>) {
    let _ = writeln!(io::stderr().lock(), "{message}");
}

/// True for a meta-command (which never takes more lines).
fn is_command(entry: &str) -> bool {
    entry.trim_start().starts_with(':')
}

struct Repl {
    session: Session,
    /// Entries evaluated so far; names the source of each (`<entry N>`).
    entries: usize,
    out: io::Stdout,
}

/// What to do after an entry.
#[derive(PartialEq, Eq)]
enum Next {
    Continue,
    Quit,
}

impl Repl {
    fn run_editor(&mut self) -> io::Result<()> {
        // Without bracketed paste a pasted block arrives as typed lines, so
        // each complete entry in it runs as soon as its line is in (with
        // it, the block would wait for an extra Enter and then run as one
        // entry); the kept input buffer (rustyline's `buffer-redux`) keeps
        // the lines after the first.
        let config = Config::builder().bracketed_paste(false).build();
        let mut editor: Editor<ReplHelper, DefaultHistory> =
            Editor::with_config(config).map_err(io::Error::other)?;
        editor.set_helper(Some(ReplHelper::new(diag::wants_colour(
            io::stdout().is_terminal(),
        ))));
        editor.bind_sequence(
            KeyEvent::from('\t'),
            EventHandler::Conditional(Box::new(TabIndentsAtLineStart)),
        );
        let history = history_path();
        if let Some(path) = &history {
            let _ = editor.load_history(path);
        }
        writeln!(
            self.out,
            "exprjit {} — :help for help, Ctrl-D to leave",
            env!("CARGO_PKG_VERSION")
        )?;
        self.out.flush()?;
        'entries: loop {
            if let Some(helper) = editor.helper_mut() {
                helper.names = self.session.names().map(str::to_owned).collect();
            }
            let mut entry = match editor.readline(PROMPT) {
                Ok(line) => line,
                // Ctrl-C while editing clears the line.
                Err(ReadlineError::Interrupted) => continue,
                Err(ReadlineError::Eof) => break,
                Err(error) => return Err(io::Error::other(error)),
            };
            // A line recalled from history may hold a whole entry.
            let mut lines = continuation::Entry::new();
            for line in entry.split('\n') {
                lines.push_line(line);
            }
            while !is_command(&entry) && lines.is_incomplete() {
                match editor.readline(CONTINUATION_PROMPT) {
                    Ok(more) => {
                        lines.push_line(&more);
                        entry.push('\n');
                        entry.push_str(&more);
                    }
                    // Ctrl-C abandons the whole entry.
                    Err(ReadlineError::Interrupted) => continue 'entries,
                    // Ctrl-D runs what there is, which says what is missing.
                    Err(ReadlineError::Eof) => break,
                    Err(error) => return Err(io::Error::other(error)),
                }
            }
            if !entry.trim().is_empty() {
                let _ = editor.add_history_entry(entry.as_str());
                if let Some(path) = &history {
                    let _ = editor.save_history(path);
                }
            }
            // rustyline keeps its own SIGINT handler installed from
            // `Editor::new` on; ours must be the one while code runs.
            arm_ctrl_c();
            if self.entry(&entry)? == Next::Quit {
                break;
            }
        }
        Ok(())
    }

    /// Prompts and echoes input on stdout so that the output reads as a
    /// transcript; an unfinished entry takes more lines.
    fn run_plain(&mut self) -> io::Result<()> {
        let stdin = io::stdin();
        let mut input = stdin.lock().lines();
        loop {
            write!(self.out, "{PROMPT}")?;
            self.out.flush()?;
            let Some(first) = input.next().transpose()? else {
                writeln!(self.out)?;
                return Ok(());
            };
            writeln!(self.out, "{first}")?;
            let mut lines = continuation::Entry::new();
            lines.push_line(&first);
            let mut entry = first;
            while !is_command(&entry) && lines.is_incomplete() {
                write!(self.out, "{CONTINUATION_PROMPT}")?;
                let Some(more) = input.next().transpose()? else {
                    break;
                };
                writeln!(self.out, "{more}")?;
                lines.push_line(&more);
                entry.push('\n');
                entry.push_str(&more);
            }
            if self.entry(&entry)? == Next::Quit {
                return Ok(());
            }
        }
    }

    /// Handles one entry: a meta-command or source.
    fn entry(&mut self, line: &str) -> io::Result<Next> {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            return Ok(Next::Continue);
        }
        let Some(command) = trimmed.strip_prefix(':') else {
            self.eval(line, false)?;
            return Ok(Next::Continue);
        };
        let (name, argument) = command
            .split_once(char::is_whitespace)
            .map_or((command, ""), |(name, rest)| (name, rest.trim()));
        match (name, argument) {
            ("quit" | "q", _) => return Ok(Next::Quit),
            ("help" | "h", _) => write_help(&mut self.out)?,
            ("list", _) => {
                let signatures: Vec<&str> = self.session.signatures().collect();
                if signatures.is_empty() {
                    writeln!(self.out, "no functions defined yet")?;
                }
                for signature in signatures {
                    writeln!(self.out, "fn {signature}")?;
                }
            }
            ("reset", _) => {
                self.session.reset();
                writeln!(self.out, "all definitions forgotten")?;
            }
            ("backend", name) => {
                let backend = match name {
                    "" => Some(self.session.backend()),
                    _ => Backend::from_name(name),
                };
                let Some(backend) = backend else {
                    complain(format_args!(
                        "error: unknown backend '{name}': the backends are {}",
                        Backend::NAMES.join(" and ")
                    ));
                    return Ok(Next::Continue);
                };
                self.session.set_backend(backend);
                writeln!(self.out, "backend: {}", backend.name())?;
            }
            ("asm", "") => complain(format_args!(
                "error: :asm needs a function name, as in :asm fib"
            )),
            ("asm", function) => match self
                .session
                .disassemble(function, diag::wants_colour(io::stdout().is_terminal()))
            {
                Some(text) => write!(self.out, "{text}")?,
                None => match crate::suggest::closest(function, self.session.names()) {
                    Some(near) => complain(format_args!(
                        "error: no function named '{function}'; did you mean '{near}'?"
                    )),
                    None => complain(format_args!("error: no function named '{function}'")),
                },
            },
            ("ast", "") => complain(format_args!(
                "error: :ast needs an expression or definition"
            )),
            ("ast", source) => {
                let parsed = crate::pipeline::parse(source);
                write!(self.out, "{}", parsed.program)?;
                self.out.flush()?;
                let file = SourceFile::new(self.next_entry_name(), source);
                diag::emit_to_stderr(&file, &parsed.errors);
            }
            ("time", "") => complain(format_args!("error: :time needs an expression")),
            ("time", source) => self.eval(source, true)?,
            ("load", "") => complain(format_args!("error: :load needs a file name")),
            ("load", path) => self.load(path)?,
            _ => {
                let names: Vec<&str> = helper::command_names().collect();
                let command = format!(":{name}");
                match crate::suggest::closest(&command, names.iter().copied()) {
                    Some(near) => complain(format_args!(
                        "error: unknown command '{command}'; did you mean '{near}'?"
                    )),
                    None => complain(format_args!("error: unknown command '{command}'")),
                }
                complain(format_args!("the commands are: {}", names.join(" ")));
            }
        }
        self.out.flush()?;
        Ok(Next::Continue)
    }

    fn next_entry_name(&mut self) -> String {
        self.entries += 1;
        format!("<entry {}>", self.entries)
    }

    fn eval(&mut self, source: &str, show_times: bool) -> io::Result<()> {
        let name = self.next_entry_name();
        self.eval_named(&name, source, show_times)
    }

    fn eval_named(&mut self, name: &str, source: &str, show_times: bool) -> io::Result<()> {
        let start = Instant::now();
        let outcome = self.session.eval(name, source, Some(&CTRL_C));
        let total = start.elapsed();
        report(&mut self.out, &outcome)?;
        if show_times {
            let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
            let compile = total.saturating_sub(outcome.run);
            writeln!(
                self.out,
                "compile {:.3} ms (parse {:.3}, resolve {:.3}, codegen {:.3}, load {:.3}), run {:.3} ms",
                ms(compile),
                ms(outcome.timings.parse),
                ms(outcome.timings.resolve),
                ms(outcome.timings.codegen),
                ms(outcome.timings.load),
                ms(outcome.run)
            )?;
        }
        Ok(())
    }

    fn load(&mut self, path: &str) -> io::Result<()> {
        // File name completion escapes blanks with `\`, as a shell does.
        let path = rustyline::completion::unescape(path, Some('\\'));
        let bytes = match crate::pipeline::read_program_file(std::path::Path::new(path.as_ref())) {
            Ok(bytes) => bytes,
            Err(message) => {
                complain(format_args!("error: {message}"));
                return Ok(());
            }
        };
        match crate::pipeline::decode_utf8(bytes) {
            Ok(text) => self.eval_named(&path, &text, false)?,
            Err(invalid) => {
                let (text, diagnostic) = *invalid;
                diag::emit_to_stderr(&SourceFile::new(path, text), &diagnostic.into());
            }
        }
        Ok(())
    }
}

/// Writes an entry's replies to `out`, then its error, if any, to stderr.
fn report(out: &mut impl Write, outcome: &Outcome) -> io::Result<()> {
    // A failed entry defines nothing, so only its values are worth showing.
    let failed = outcome.failure.is_some();
    for reply in &outcome.replies {
        if failed && matches!(reply, Reply::Defined { .. }) {
            continue;
        }
        match reply {
            Reply::Defined {
                signature,
                redefined,
                undefined,
            } => {
                let verb = if *redefined { "redefined" } else { "defined" };
                write!(out, "{verb} {signature}")?;
                if !undefined.is_empty() {
                    write!(out, " {}", undefined_note(undefined))?;
                }
                writeln!(out)?;
            }
            Reply::Value(value) => writeln!(out, "{value}")?,
        }
    }
    // The values come first, as they were computed first.
    out.flush()?;
    match &outcome.failure {
        None => {}
        Some(Failure::Errors { file, diagnostics }) => diag::emit_to_stderr(file, diagnostics),
        Some(Failure::Interrupted) => complain(format_args!("interrupted")),
        Some(Failure::System(message)) => complain(format_args!("error: {message}")),
    }
    Ok(())
}

/// What a reply adds about the functions a definition calls that are not
/// defined yet: `(calls 'later', which is not defined yet: define it before
/// calling it)`, or a typo's likely intent.
fn undefined_note(undefined: &[Undefined]) -> String {
    let names: Vec<String> = undefined
        .iter()
        .map(|u| match &u.near {
            Some(near) => format!("'{}' (did you mean '{near}'?)", u.name),
            None => format!("'{}'", u.name),
        })
        .collect();
    let (verb, pronoun) = match names.len() {
        1 => ("is", "it"),
        _ => ("are", "them"),
    };
    let advice = match undefined.iter().any(|u| u.near.is_some()) {
        true => String::new(),
        false => format!(": define {pronoun} before calling it"),
    };
    format!(
        "(calls {}, which {verb} not defined yet{advice})",
        names.join(", ")
    )
}

fn write_help(out: &mut impl Write) -> io::Result<()> {
    writeln!(out, "Commands:")?;
    for (usage, what) in COMMANDS {
        writeln!(out, "  {usage:<13} {what}")?;
    }
    writeln!(out)?;
    writeln!(out, "{LANGUAGE_SUMMARY}")
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
