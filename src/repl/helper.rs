//! Line editing support for the REPL on a terminal: Tab completion
//! (commands, function names, file names after `:load`), colouring of the
//! input, and a Tab binding that indents instead of completing at the start
//! of a line (so pasted indented code stays as it was).

use std::borrow::Cow;

use rustyline::completion::{Completer, FilenameCompleter, Pair};
use rustyline::highlight::{CmdKind, Highlighter};
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Cmd, ConditionalEventHandler, Context, Event, EventContext, Helper, RepeatCount};

use crate::lexer::{self, Token};

/// The meta-commands, with their one-line help.
pub(super) const COMMANDS: [(&str, &str); 9] = [
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

/// The command names, as typed (`:help`, ...).
pub(super) fn command_names() -> impl Iterator<Item = &'static str> {
    COMMANDS
        .iter()
        .map(|(usage, _)| usage.split(' ').next().unwrap_or(usage))
}

/// Completion and colouring for the editor.
pub(super) struct ReplHelper {
    /// Defined function names, for completion.
    pub names: Vec<String>,
    pub colour: bool,
    files: FilenameCompleter,
}

impl ReplHelper {
    pub fn new(colour: bool) -> ReplHelper {
        ReplHelper {
            names: Vec::new(),
            colour,
            files: FilenameCompleter::new(),
        }
    }
}

impl Helper for ReplHelper {}

impl Hinter for ReplHelper {
    type Hint = String;
}

/// Every line is accepted as typed: whether an entry goes on is decided by
/// the REPL, which then reads the next line with its own prompt.
impl Validator for ReplHelper {}

impl Completer for ReplHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let before = &line[..pos];
        if let Some(argument) = before.trim_start().strip_prefix(":load")
            && argument.starts_with(char::is_whitespace)
        {
            return self.files.complete(line, pos, ctx);
        }
        let start = before
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
            .map_or(0, |i| i + 1);
        let word = &before[start..];
        let candidates = if start == 0 && word.starts_with(':') {
            // A completed command is followed by the space its argument needs.
            command_names()
                .filter(|command| command.starts_with(word))
                .map(|command| Pair {
                    display: command.to_owned(),
                    replacement: format!("{command} "),
                })
                .collect()
        } else {
            self.names
                .iter()
                .filter(|name| name.starts_with(word))
                .map(|name| Pair {
                    display: name.clone(),
                    replacement: name.clone(),
                })
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
                Token::Int => "36",
                Token::Ident | Token::Newline | Token::Error => continue,
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

/// Tab with nothing but blanks before the cursor indents: there is nothing
/// to complete, and a pasted line indented with tabs keeps its indentation
/// instead of turning into completion requests.
pub(super) struct TabIndentsAtLineStart;

impl ConditionalEventHandler for TabIndentsAtLineStart {
    fn handle(&self, _: &Event, _: RepeatCount, _: bool, ctx: &EventContext<'_>) -> Option<Cmd> {
        let before = &ctx.line()[..ctx.pos()];
        if before.trim().is_empty() {
            Some(Cmd::Insert(1, "    ".to_owned()))
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustyline::history::DefaultHistory;

    fn helper(colour: bool) -> ReplHelper {
        ReplHelper {
            names: vec!["fib".into(), "fact".into(), "gcd".into()],
            ..ReplHelper::new(colour)
        }
    }

    fn complete(line: &str) -> (usize, Vec<String>) {
        let history = DefaultHistory::new();
        let ctx = Context::new(&history);
        let (start, found) = helper(false).complete(line, line.len(), &ctx).unwrap();
        (
            start,
            found.into_iter().map(|pair| pair.replacement).collect(),
        )
    }

    #[test]
    fn tab_completes_commands_function_names_and_files() {
        assert_eq!(complete(":ti"), (0, vec![":time ".to_owned()]));
        assert_eq!(
            complete("1 + f"),
            (4, vec!["fib".to_owned(), "fact".to_owned()])
        );
        let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.to");
        let (start, found) = complete(&format!(":load {manifest}"));
        assert_eq!(start, ":load ".len());
        assert_eq!(found, [concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")]);
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
