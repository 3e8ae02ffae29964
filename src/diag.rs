//! Diagnostics: one error type for every stage, rendered with
//! `codespan-reporting` as `FILE:LINE:COL` plus the source line and a caret.

use std::borrow::Cow;
use std::io::{self, IsTerminal, Write};
use std::sync::atomic::{AtomicU8, Ordering};

use codespan_reporting::diagnostic::{Diagnostic as CsDiagnostic, Label as CsLabel};
use codespan_reporting::files::SimpleFile;
use codespan_reporting::term::{self, termcolor};

use crate::ast::Span;

mod bounded;

pub use bounded::Diagnostics;

/// A named source text (the file name is a stand-in such as `<expr>` for
/// programs that did not come from a file).
#[derive(Clone, Debug)]
pub struct SourceFile {
    pub name: String,
    pub text: String,
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> SourceFile {
        SourceFile {
            name: name.into(),
            text: text.into(),
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = &self.text[..floor_char_boundary(&self.text, offset)];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = before[line_start..].chars().count() + 1;
        (line, col)
    }
}

impl SourceFile {
    /// The file as the renderer sees it: control characters (a NUL, a form
    /// feed...) would print as nothing and leave the caret line misaligned,
    /// so they are shown as blanks. Byte offsets and lines are unchanged.
    fn excerpt_source(&self) -> SimpleFile<&str, Cow<'_, str>> {
        let is_invisible = |c: char| c.is_ascii_control() && c != '\n' && c != '\t';
        let text = if self.text.contains(is_invisible) {
            Cow::Owned(self.text.replace(is_invisible, " "))
        } else {
            Cow::Borrowed(self.text.as_str())
        };
        SimpleFile::new(self.name.as_str(), text)
    }
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// A secondary message attached to another place in the source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    pub span: Span,
    pub message: String,
}

/// The stable short code of each kind of error, shown as `error[E0011]`.
///
/// Codes never change meaning and are never reused; a new kind of error gets
/// a new code. `docs/errors.md` lists them all (a test keeps it complete).
///
/// ```
/// use exprjit::ErrorCode;
/// let error = exprjit::eval("fn fib(n) = n; fbi(3)").unwrap_err();
/// assert_eq!(error.code(), ErrorCode::UnknownFunction);
/// assert_eq!(error.code().as_str(), "E0011");
/// ```
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// The source is not valid UTF-8.
    InvalidUtf8,
    /// A character that is not part of the language.
    UnknownCharacter,
    /// A malformed integer literal, such as `0x` or `12ab`.
    InvalidLiteral,
    /// An integer literal that does not fit in 64 bits.
    LiteralOutOfRange,
    /// The parser expected something else here.
    SyntaxError,
    /// A `(` that is never closed.
    UnclosedParen,
    /// A `)` with no `(` to close.
    UnmatchedParen,
    /// `a < b < c`: comparisons cannot be chained.
    ChainedComparison,
    /// An expression nested deeper than the compiler accepts.
    NestedTooDeeply,
    /// A name that is not a parameter or `let` binding in scope.
    UnknownName,
    /// A call to a function that is not defined.
    UnknownFunction,
    /// A call with the wrong number of arguments.
    WrongArity,
    /// Two definitions of one function in one program.
    DuplicateFunction,
    /// A parameter name repeated in one definition.
    DuplicateParameter,
    /// A REPL redefinition changing the arity of a function still called.
    ArityChange,
    /// A source longer than the compiler accepts.
    SourceTooLarge,
    /// A source of more items (definitions and top-level expressions) than
    /// the compiler accepts.
    TooManyItems,
    /// `/` or `%` by zero while running.
    DivisionByZero,
    /// Recursion too deep for the JIT stack.
    StackOverflow,
    /// `Interrupt::request` stopped a call (the REPL's Ctrl-C uses the same
    /// mechanism).
    Interrupted,
    /// The system refused memory for machine code or a JIT stack.
    OutOfMemory,
    /// A second call tried to use an interrupt that a running call holds.
    InterruptInUse,
    /// (REPL) A call reached a function that no entry has defined yet.
    UndefinedFunction,
    /// The library's lookup of a function by name found none.
    NoSuchFunction,
    /// The library's lookup asked for a different number of parameters.
    ArityMismatch,
    /// `exprjit::eval` was given no expression to evaluate.
    NothingToEvaluate,
    /// `DynFunc::call` was given a number of arguments other than the
    /// function's arity.
    WrongArgumentCount,
    /// The rows and outputs given to a `call_many` do not fit together.
    BatchShape,
}

impl ErrorCode {
    /// Every code, in numeric order.
    pub const ALL: [ErrorCode; 28] = [
        ErrorCode::InvalidUtf8,
        ErrorCode::UnknownCharacter,
        ErrorCode::InvalidLiteral,
        ErrorCode::LiteralOutOfRange,
        ErrorCode::SyntaxError,
        ErrorCode::UnclosedParen,
        ErrorCode::UnmatchedParen,
        ErrorCode::ChainedComparison,
        ErrorCode::NestedTooDeeply,
        ErrorCode::UnknownName,
        ErrorCode::UnknownFunction,
        ErrorCode::WrongArity,
        ErrorCode::DuplicateFunction,
        ErrorCode::DuplicateParameter,
        ErrorCode::ArityChange,
        ErrorCode::SourceTooLarge,
        ErrorCode::TooManyItems,
        ErrorCode::DivisionByZero,
        ErrorCode::StackOverflow,
        ErrorCode::Interrupted,
        ErrorCode::OutOfMemory,
        ErrorCode::InterruptInUse,
        ErrorCode::UndefinedFunction,
        ErrorCode::NoSuchFunction,
        ErrorCode::ArityMismatch,
        ErrorCode::NothingToEvaluate,
        ErrorCode::WrongArgumentCount,
        ErrorCode::BatchShape,
    ];

    /// The code as printed, e.g. `"E0011"`. Compile errors are `E00xx`,
    /// runtime errors `E01xx`, errors of the library API `E02xx`.
    ///
    /// ```
    /// assert_eq!(exprjit::ErrorCode::DivisionByZero.as_str(), "E0100");
    /// assert_eq!(exprjit::ErrorCode::DivisionByZero.to_string(), "E0100");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidUtf8 => "E0001",
            ErrorCode::UnknownCharacter => "E0002",
            ErrorCode::InvalidLiteral => "E0003",
            ErrorCode::LiteralOutOfRange => "E0004",
            ErrorCode::SyntaxError => "E0005",
            ErrorCode::UnclosedParen => "E0006",
            ErrorCode::UnmatchedParen => "E0007",
            ErrorCode::ChainedComparison => "E0008",
            ErrorCode::NestedTooDeeply => "E0009",
            ErrorCode::UnknownName => "E0010",
            ErrorCode::UnknownFunction => "E0011",
            ErrorCode::WrongArity => "E0012",
            ErrorCode::DuplicateFunction => "E0013",
            ErrorCode::DuplicateParameter => "E0014",
            ErrorCode::ArityChange => "E0015",
            ErrorCode::SourceTooLarge => "E0016",
            ErrorCode::TooManyItems => "E0017",
            ErrorCode::DivisionByZero => "E0100",
            ErrorCode::StackOverflow => "E0101",
            ErrorCode::Interrupted => "E0102",
            ErrorCode::OutOfMemory => "E0103",
            ErrorCode::InterruptInUse => "E0104",
            ErrorCode::UndefinedFunction => "E0105",
            ErrorCode::NoSuchFunction => "E0200",
            ErrorCode::ArityMismatch => "E0201",
            ErrorCode::NothingToEvaluate => "E0202",
            ErrorCode::WrongArgumentCount => "E0203",
            ErrorCode::BatchShape => "E0204",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error the user caused: at compile time or while the program ran.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Which kind of error this is; `None` only for diagnostics made before
    /// every site had a code (rendered as plain `error:`).
    pub code: Option<ErrorCode>,
    /// The headline, e.g. `division by zero`.
    pub message: String,
    /// Where it happened; the caret goes here.
    pub span: Span,
    /// A short text printed next to the caret (may be empty).
    pub label: String,
    /// Other places worth pointing at (e.g. the earlier definition).
    pub related: Vec<Note>,
    /// Free-standing hints printed under the source excerpt.
    pub help: Vec<String>,
}

impl Diagnostic {
    pub fn error(message: impl Into<String>, span: Span) -> Diagnostic {
        Diagnostic {
            code: None,
            message: message.into(),
            span,
            label: String::new(),
            related: Vec::new(),
            help: Vec::new(),
        }
    }

    /// A diagnostic of kind `code` (the usual constructor).
    pub fn new(code: ErrorCode, message: impl Into<String>, span: Span) -> Diagnostic {
        Diagnostic::error(message, span).with_code(code)
    }

    /// Sets the stable code of this kind of error (see [`ErrorCode`]).
    pub fn with_code(mut self, code: ErrorCode) -> Diagnostic {
        self.code = Some(code);
        self
    }

    pub fn with_label(mut self, label: impl Into<String>) -> Diagnostic {
        self.label = label.into();
        self
    }

    pub fn with_related(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.related.push(Note {
            span,
            message: message.into(),
        });
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help.push(help.into());
        self
    }

    fn to_codespan(&self, text_len: usize) -> CsDiagnostic<()> {
        let clamp = |span: Span| {
            let start = span.start.min(text_len);
            start..span.end.clamp(start, text_len)
        };
        let mut labels =
            vec![CsLabel::primary((), clamp(self.span)).with_message(shorten(&self.label))];
        labels.extend(self.related.iter().map(|note| {
            CsLabel::secondary((), clamp(note.span)).with_message(shorten(&note.message))
        }));
        let mut diagnostic = CsDiagnostic::error();
        if let Some(code) = self.code {
            diagnostic = diagnostic.with_code(code.as_str());
        }
        diagnostic
            .with_message(shorten(&self.message))
            .with_labels(labels)
            .with_notes(self.help_lines())
    }

    fn help_lines(&self) -> Vec<String> {
        self.help
            .iter()
            .map(|h| format!("help: {}", shorten(h)))
            .collect()
    }

    /// The diagnostic as plain text (no colour), ending in a newline.
    pub fn render(&self, file: &SourceFile) -> String {
        if self.touches_long_line(&file.text) {
            return self.render_without_excerpt(file);
        }
        let files = file.excerpt_source();
        term::emit_into_string(
            &term::Config::default(),
            &files,
            &self.to_codespan(file.text.len()),
        )
        .unwrap_or_else(|_| self.render_fallback(file))
    }

    /// The diagnostic with ANSI colour escapes, as `emit_to_stderr` shows it
    /// on a colour terminal, ending in a newline.
    pub fn render_coloured(&self, file: &SourceFile) -> String {
        let files = file.excerpt_source();
        let mut out = termcolor::Ansi::new(Vec::new());
        let cs = self.to_codespan(file.text.len());
        match term::emit_to_write_style(&mut out, &term::Config::default(), &files, &cs) {
            Ok(()) => String::from_utf8_lossy(&out.into_inner()).into_owned(),
            Err(_) => self.render_fallback(file),
        }
    }

    /// A one-line rendering used if the source excerpt cannot be shown.
    fn render_fallback(&self, file: &SourceFile) -> String {
        let (line, col) = file.line_col(self.span.start);
        let code = self.code.map(|c| format!("[{c}]")).unwrap_or_default();
        format!(
            "error{code}: {}\n --> {}:{line}:{col}\n",
            shorten(&self.message),
            file.name
        )
    }

    /// The rendering for a diagnostic whose source lines are too long to
    /// show (a generated or hostile file): the position, the label and the
    /// help, without the excerpt.
    fn render_without_excerpt(&self, file: &SourceFile) -> String {
        let mut text = self.render_fallback(file);
        if !self.label.is_empty() {
            text.push_str(&format!("  = {}\n", shorten(&self.label)));
        }
        for note in &self.related {
            let (line, col) = file.line_col(note.span.start);
            text.push_str(&format!(
                "  = {}:{line}:{col}: {}\n",
                file.name,
                shorten(&note.message)
            ));
        }
        for help in self.help_lines() {
            text.push_str(&format!("  = {help}\n"));
        }
        text.push_str(&format!(
            "  = note: the source line is longer than {MAX_EXCERPT_LINE} bytes, so it is not shown\n"
        ));
        text
    }

    /// True if a line any label points into is longer than
    /// [`MAX_EXCERPT_LINE`]: printing it (and a caret line as long) would
    /// flood the terminal.
    fn touches_long_line(&self, text: &str) -> bool {
        let spans = std::iter::once(self.span).chain(self.related.iter().map(|note| note.span));
        spans
            .flat_map(|span| [span.start, span.end])
            .any(|offset| line_len_around(text, offset) > MAX_EXCERPT_LINE)
    }
}

/// Lines longer than this many bytes are not shown in diagnostics.
pub const MAX_EXCERPT_LINE: usize = 1_000;

/// Messages, labels and help longer than this many characters are cut
/// (an `unknown name` error quotes the name, which may be megabytes long).
const MAX_MESSAGE_CHARS: usize = 200;

/// At most this many diagnostics are kept ([`Diagnostics`]) and printed by
/// [`emit_to_stderr`]; the rest are only counted, so that a hostile file
/// with millions of errors takes neither minutes to report nor gigabytes
/// to hold.
pub const MAX_SHOWN_DIAGNOSTICS: usize = 100;

/// `text`, cut to [`MAX_MESSAGE_CHARS`] characters with an ellipsis.
fn shorten(text: &str) -> Cow<'_, str> {
    match text.char_indices().nth(MAX_MESSAGE_CHARS) {
        None => Cow::Borrowed(text),
        Some((cut, _)) => Cow::Owned(format!("{}…", &text[..cut])),
    }
}

/// The length in bytes of the line holding byte `offset` of `text`
/// (counting up to [`MAX_EXCERPT_LINE`] + 1 each way, which is all the
/// caller needs to know).
fn line_len_around(text: &str, offset: usize) -> usize {
    let bytes = text.as_bytes();
    let offset = offset.min(bytes.len());
    let limit = MAX_EXCERPT_LINE + 1;
    let before = bytes[..offset]
        .iter()
        .rev()
        .take(limit)
        .take_while(|&&b| b != b'\n')
        .count();
    let after = bytes[offset..]
        .iter()
        .take(limit)
        .take_while(|&&b| b != b'\n')
        .count();
    before + after
}

/// When to use colour (the command line's `--color`, spelt as cargo and
/// ripgrep spell it).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum ColourChoice {
    /// Colour on a terminal, unless `NO_COLOR` is set or `TERM` is `dumb`.
    #[default]
    Auto,
    /// Colour always, even into a pipe or a file.
    Always,
    /// Never colour.
    Never,
}

/// The process-wide choice, set once by the command line; a global because
/// every diagnostic printed to stderr, from the CLI and the REPL, obeys it.
static COLOUR_CHOICE: AtomicU8 = AtomicU8::new(ColourChoice::Auto as u8);

/// Sets when [`wants_colour`] says yes.
pub fn set_colour_choice(choice: ColourChoice) {
    COLOUR_CHOICE.store(choice as u8, Ordering::Relaxed);
}

/// Whether output to a stream should be coloured under the current
/// [`ColourChoice`]: for `Auto`, only if the stream is a terminal,
/// `NO_COLOR` is unset or empty (<https://no-color.org>) and `TERM` is not
/// `dumb` (a terminal that cannot show escapes).
pub fn wants_colour(stream_is_terminal: bool) -> bool {
    let choice = COLOUR_CHOICE.load(Ordering::Relaxed);
    if choice == ColourChoice::Always as u8 {
        true
    } else if choice == ColourChoice::Never as u8 {
        false
    } else {
        stream_is_terminal
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            && std::env::var_os("TERM").is_none_or(|term| term != "dumb")
    }
}

/// Whether diagnostics on stderr should be coloured ([`wants_colour`]).
pub fn stderr_wants_colour() -> bool {
    wants_colour(io::stderr().is_terminal())
}

/// Writes diagnostics to stderr, coloured when [`stderr_wants_colour`],
/// then how many more there were.
pub fn emit_to_stderr(file: &SourceFile, diagnostics: &Diagnostics) {
    let choice = if stderr_wants_colour() {
        termcolor::ColorChoice::Always
    } else {
        termcolor::ColorChoice::Never
    };
    // Buffered: codespan writes an excerpt a character at a time, and an
    // unbuffered stderr would make each one a system call.
    let mut stream = termcolor::BufferedStandardStream::stderr(choice);
    let files = file.excerpt_source();
    let config = term::Config::default();
    for diagnostic in diagnostics.iter().take(MAX_SHOWN_DIAGNOSTICS) {
        if diagnostic.touches_long_line(&file.text) {
            let _ = stream.write_all(diagnostic.render_without_excerpt(file).as_bytes());
            continue;
        }
        let cs = diagnostic.to_codespan(file.text.len());
        if term::emit_to_write_style(&mut stream, &config, &files, &cs).is_err() {
            let _ = stream.write_all(diagnostic.render_fallback(file).as_bytes());
        }
    }
    if let Some(note) = diagnostics.hidden_note() {
        let _ = stream.write_all(note.as_bytes());
    }
    let _ = stream.flush();
}

impl Diagnostics {
    /// The line that says how many errors were not shown (those past the
    /// first [`MAX_SHOWN_DIAGNOSTICS`]), if any were not.
    pub fn hidden_note(&self) -> Option<String> {
        let hidden = self.total().saturating_sub(MAX_SHOWN_DIAGNOSTICS);
        (hidden > 0).then(|| {
            format!(
                "note: {hidden} more {} not shown (only the first {MAX_SHOWN_DIAGNOSTICS} are)\n",
                if hidden == 1 { "error" } else { "errors" }
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_are_unique_ordered_and_documented() {
        let codes: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert!(codes.windows(2).all(|w| w[0] < w[1]), "{codes:?}");
        let docs = include_str!("../docs/errors.md");
        for code in ErrorCode::ALL {
            let row = format!("| {} | `{code:?}` |", code.as_str());
            assert!(docs.contains(&row), "docs/errors.md lacks the row {row}");
        }
        let rows = docs.lines().filter(|l| l.starts_with("| E")).count();
        assert_eq!(
            rows,
            ErrorCode::ALL.len(),
            "docs/errors.md lists extra codes"
        );
    }

    #[test]
    fn codes_are_rendered_in_brackets() {
        let file = SourceFile::new("t.ex", "1 / 0\n");
        let diagnostic = Diagnostic::new(
            ErrorCode::DivisionByZero,
            "division by zero",
            Span::new(2, 3),
        );
        assert!(
            diagnostic
                .render(&file)
                .starts_with("error[E0100]: division by zero\n")
        );
        assert!(diagnostic.render_coloured(&file).contains("E0100"));
    }

    #[test]
    fn line_col_counts_characters_from_one() {
        let file = SourceFile::new("t.ex", "ab\ncé d\n");
        assert_eq!(file.line_col(0), (1, 1));
        assert_eq!(file.line_col(3), (2, 1));
        // 'é' is two bytes but one column.
        assert_eq!(file.line_col(6), (2, 3));
    }

    #[test]
    fn render_names_file_line_and_column() {
        let file = SourceFile::new("t.ex", "fn f(x) = x / 0\n");
        let text = Diagnostic::error("division by zero", Span::new(12, 13)).render(&file);
        assert!(text.contains("error: division by zero"), "{text}");
        assert!(text.contains("t.ex:1:13"), "{text}");
        assert!(text.contains('^'), "{text}");
    }
}
