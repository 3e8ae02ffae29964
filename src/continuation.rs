//! Does a REPL entry go on? [`Entry`] answers after each line in time
//! proportional to that line, where parsing the entry again would take time
//! proportional to the whole entry (quadratic over a long unfinished entry:
//! 20,000 continuation lines took over a minute).
//!
//! The answer must be exactly [`crate::parser::Parsed::incomplete`] for the
//! lines so far: the input stops inside an item that is a valid beginning of
//! an item but not a whole one. So this applies the parser's layout rule
//! (which newlines end an item) as the lines come, and runs each item's
//! tokens through a recognizer of the grammar in `grammar/exprjit.lalrpop`:
//! a pushdown automaton with one state per position in the grammar, which
//! rejects a token exactly where the LR parser would. The property test
//! `agrees_with_the_parser` holds the two together.

use crate::lexer::{self, Token};

/// The lines of an entry so far.
#[derive(Clone, Debug, Default)]
pub struct Entry {
    /// The item the last line ended in (the only one more lines can change).
    item: Recognizer,
    /// Parentheses open in the current item, as the layout rule counts them
    /// (a `)` with nothing to close counts nothing).
    open_parens: usize,
    /// A newline has been seen since the last token of the current item:
    /// whether it ends the item depends on the next token.
    newline_pending: bool,
    /// The last token of the current item could end an expression.
    item_may_end: bool,
    /// A line has been pushed (so the next one starts after a newline).
    has_lines: bool,
}

impl Entry {
    /// An entry with no lines yet.
    pub fn new() -> Entry {
        Entry::default()
    }

    /// Adds one line of input (without its newline).
    /// (Tokens never span lines, so lexing a line alone gives the tokens
    /// that lexing the whole entry would.)
    pub fn push_line(&mut self, line: &str) {
        if std::mem::replace(&mut self.has_lines, true) {
            self.push_token(Token::Newline);
        }
        for (_, token, _) in lexer::tokenize(line).tokens {
            self.push_token(token);
        }
    }

    /// True if the entry stops in the middle of an item, so that a REPL
    /// should read another line before running it.
    pub fn is_incomplete(&self) -> bool {
        // Blank lines at the end end an item that could end there, as a
        // newline followed by anything but a continuation would.
        let ended_by_blank_lines = self.newline_pending && self.item_ends_at_newline();
        !ended_by_blank_lines && self.item.is_incomplete()
    }

    /// Whether a newline here ends the item unless the next line continues
    /// it: no open parenthesis, and the last token can end an expression.
    fn item_ends_at_newline(&self) -> bool {
        self.open_parens == 0 && self.item_may_end
    }

    /// The layout rule of [`crate::parser`], one token at a time.
    fn push_token(&mut self, token: Token) {
        if token == Token::Newline {
            self.newline_pending = true;
            return;
        }
        if std::mem::take(&mut self.newline_pending) {
            let continues = matches!(token, Token::Then | Token::Else | Token::In)
                || token.continues_previous_line();
            if self.item_ends_at_newline() && !continues {
                self.end_item();
            }
        }
        if token == Token::Semicolon && self.open_parens == 0 {
            self.end_item();
            return;
        }
        match token {
            Token::LParen => self.open_parens += 1,
            Token::RParen => self.open_parens = self.open_parens.saturating_sub(1),
            _ => {}
        }
        self.item_may_end = token.can_end_expression();
        self.item.push(token);
    }

    fn end_item(&mut self) {
        self.item = Recognizer::default();
        self.open_parens = 0;
        self.item_may_end = false;
    }
}

/// Where the recognizer is inside an item.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
enum Position {
    /// No token yet.
    #[default]
    ItemStart,
    /// `fn`: a name must follow.
    FnName,
    /// `fn f`: `(` must follow.
    FnOpen,
    /// `fn f(` or `fn f(a,`: a parameter or `)`.
    FnParam,
    /// `fn f(a`: `,` or `)`.
    FnAfterParam,
    /// `fn f(a)`: `=` must follow.
    FnAssign,
    /// Where an expression starts: `if` and `let` are allowed.
    ExprStart,
    /// An operand after an operator: no `if` or `let`.
    Operand,
    /// `name(` or `name(a,`: an argument or `)`.
    Argument,
    /// `let`: a name must follow.
    LetName,
    /// `let x`: `=` must follow.
    LetAssign,
    /// After an operand; `name` says it was a bare name (so `(` calls it).
    AfterOperand { name: bool },
    /// A token no item can continue with: a syntax error.
    Rejected,
}

/// An expression that is still open, innermost last.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Open {
    /// The item's own expression (a top-level one or a function body).
    Item,
    Paren,
    Call,
    IfCondition,
    IfThen,
    /// An `else` branch or a `let` body: it ends wherever the enclosing
    /// expression allows, so it is complete whenever an operand is.
    Tail,
    LetValue,
}

/// A frame of the automaton's stack: an open expression, and whether it has
/// had a comparison since its last `&&`/`||` (comparisons do not chain).
#[derive(Copy, Clone, Debug)]
struct Frame {
    open: Open,
    compared: bool,
}

/// Recognizes the items of the grammar one token at a time.
#[derive(Clone, Debug, Default)]
struct Recognizer {
    position: Position,
    stack: Vec<Frame>,
}

impl Recognizer {
    fn is_incomplete(&self) -> bool {
        match self.position {
            Position::ItemStart | Position::Rejected => false,
            Position::AfterOperand { .. } => !self
                .stack
                .iter()
                .all(|frame| matches!(frame.open, Open::Item | Open::Tail)),
            _ => true,
        }
    }

    fn open(&mut self, open: Open, position: Position) {
        self.stack.push(Frame {
            open,
            compared: false,
        });
        self.position = position;
    }

    /// Closes the `else` branches and `let` bodies that end before `token`
    /// and returns what is open around them.
    fn close_tails(&mut self) -> Option<Open> {
        while self
            .stack
            .last()
            .is_some_and(|frame| frame.open == Open::Tail)
        {
            self.stack.pop();
        }
        self.stack.last().map(|frame| frame.open)
    }

    fn replace_innermost(&mut self, open: Open) {
        if let Some(frame) = self.stack.last_mut() {
            *frame = Frame {
                open,
                compared: false,
            };
        }
        self.position = Position::ExprStart;
    }

    fn push(&mut self, token: Token) {
        use Position::*;
        self.position = match (self.position, token) {
            (Rejected, _) => Rejected,
            (ItemStart, Token::Fn) => FnName,
            (ItemStart, _) => {
                self.open(Open::Item, ExprStart);
                return self.push(token);
            }
            (FnName, Token::Ident) => FnOpen,
            (FnOpen, Token::LParen) => FnParam,
            (FnParam, Token::Ident) => FnAfterParam,
            (FnParam | FnAfterParam, Token::RParen) => FnAssign,
            (FnAfterParam, Token::Comma) => FnParam,
            (FnAssign, Token::Assign) => {
                self.open(Open::Item, ExprStart);
                return;
            }
            (ExprStart | Argument, Token::If) => {
                self.open(Open::IfCondition, ExprStart);
                return;
            }
            (ExprStart | Argument, Token::Let) => LetName,
            (LetName, Token::Ident) => LetAssign,
            (LetAssign, Token::Assign) => {
                self.open(Open::LetValue, ExprStart);
                return;
            }
            (Argument, Token::RParen) => self.close_call(),
            (ExprStart | Operand | Argument, Token::Int) => AfterOperand { name: false },
            (ExprStart | Operand | Argument, Token::Ident) => AfterOperand { name: true },
            (ExprStart | Operand | Argument, Token::Minus | Token::Bang | Token::Tilde) => Operand,
            (ExprStart | Operand | Argument, Token::LParen) => {
                self.open(Open::Paren, ExprStart);
                return;
            }
            (AfterOperand { name: true }, Token::LParen) => {
                self.open(Open::Call, Argument);
                return;
            }
            (AfterOperand { .. }, token) => self.after_operand(token),
            _ => Rejected,
        };
    }

    /// `)` after the arguments of a call (or right after its `(`).
    fn close_call(&mut self) -> Position {
        match self.close_tails() {
            Some(Open::Call) => {
                self.stack.pop();
                Position::AfterOperand { name: false }
            }
            _ => Position::Rejected,
        }
    }

    fn after_operand(&mut self, token: Token) -> Position {
        use Position::*;
        match token {
            Token::AndAnd | Token::OrOr => {
                if let Some(frame) = self.stack.last_mut() {
                    frame.compared = false;
                }
                Operand
            }
            token if token.is_comparison() => match self.stack.last_mut() {
                Some(frame) if !frame.compared => {
                    frame.compared = true;
                    Operand
                }
                _ => Rejected,
            },
            token if token.is_infix_only() || token == Token::Minus => Operand,
            Token::RParen => match self.close_tails() {
                Some(Open::Paren) => {
                    self.stack.pop();
                    AfterOperand { name: false }
                }
                Some(Open::Call) => self.close_call(),
                _ => Rejected,
            },
            Token::Comma => match self.close_tails() {
                Some(Open::Call) => {
                    // Each argument is an expression of its own.
                    if let Some(frame) = self.stack.last_mut() {
                        frame.compared = false;
                    }
                    Argument
                }
                _ => Rejected,
            },
            Token::Then => self.continue_with(Open::IfCondition, Open::IfThen),
            Token::Else => self.continue_with(Open::IfThen, Open::Tail),
            Token::In => self.continue_with(Open::LetValue, Open::Tail),
            _ => Rejected,
        }
    }

    /// `then`, `else` or `in`: the innermost open `expected` part ends and
    /// the `next` part begins.
    fn continue_with(&mut self, expected: Open, next: Open) -> Position {
        if self.close_tails() == Some(expected) {
            self.replace_innermost(next);
            self.position
        } else {
            Position::Rejected
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn incomplete(lines: &[&str]) -> bool {
        let mut entry = Entry::new();
        for line in lines {
            entry.push_line(line);
        }
        entry.is_incomplete()
    }

    #[test]
    fn unfinished_entries_go_on() {
        for lines in [
            &["fn f(x) ="][..],
            &["(1 +", "2"],
            &["if 1 then 2"],
            &["let x = 1"],
            &["1 +"],
            &["fn g(a,", "b)"],
            &["if a then if b then c else d"],
            &["f(1,"],
            &["1; 2 +"],
        ] {
            assert!(incomplete(lines), "{lines:?}");
        }
        for lines in [
            &["1 + 2"][..],
            &["1 +* 2"],
            &["1 + 2)"],
            &["if 1 then 2", "3"],
            &["fn g(a,", "b)", "= a + b"],
            &["1 +", "2", "# done"],
            &["(1 +", "2)"],
            &["1 < 2 < 3 +"],
            &["f(1,)"],
            &["()"],
            &["1 +;"],
        ] {
            assert!(!incomplete(lines), "{lines:?}");
        }
    }

    /// Every sequence of up to four tokens (newlines included), checked
    /// against the parser: the short cases where a wrong transition shows.
    #[test]
    fn agrees_with_the_parser_on_every_short_input() {
        const WORDS: [&str; 25] = [
            "fn",
            "f",
            "x",
            "(",
            ")",
            ",",
            "=",
            "if",
            "then",
            "else",
            "let",
            "in",
            "1",
            "+",
            "-",
            "<",
            "==",
            "&&",
            "!",
            ";",
            "$",
            "\n",
            "f(",
            "fn f(x) =",
            "if x then 1 else",
        ];
        let mut indices = Vec::new();
        loop {
            let source: Vec<&str> = indices.iter().map(|&i| WORDS[i]).collect();
            let source = source.join(" ");
            let lines: Vec<&str> = source.split('\n').collect();
            assert_eq!(
                incomplete(&lines),
                crate::parser::parse(&source).incomplete,
                "{source:?}"
            );
            // The next sequence, shortest first.
            let mut at = indices.len();
            loop {
                if at == 0 {
                    if indices.len() == 4 {
                        return;
                    }
                    indices = vec![0; indices.len() + 1];
                    break;
                }
                at -= 1;
                indices[at] += 1;
                if indices[at] < WORDS.len() {
                    break;
                }
                indices[at] = 0;
            }
        }
    }

    /// Lines of tokens that tend to form (and often nearly form) items.
    fn token_line() -> impl Strategy<Value = String> {
        let word = prop::sample::select(vec![
            "fn", "f", "x", "(", ")", ",", "=", "if", "then", "else", "let", "in", "1", "+", "-",
            "<", "==", "&&", "||", "!", "*", ";", "#c", "$",
        ]);
        // Pieces of real items, so that long valid prefixes are common.
        let piece = prop::sample::select(vec![
            "fn f(",
            "fn f(x",
            "fn f(x, y) =",
            "fn f() =",
            "if x then 1 else",
            "if x < 1 then",
            "let x = 1 in",
            "let x =",
            "f(",
            "f(x,",
            "(1 +",
            "x < 1 &&",
            "g(1)",
            "- -x",
        ]);
        let token = prop_oneof![3 => word, 1 => piece];
        prop::collection::vec(token, 0..8).prop_map(|words| words.join(" "))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]

        #[test]
        fn agrees_with_the_parser(lines in prop::collection::vec(token_line(), 1..5)) {
            let mut entry = Entry::new();
            for line in &lines {
                entry.push_line(line);
            }
            let source = lines.join("\n");
            prop_assert_eq!(
                entry.is_incomplete(),
                crate::parser::parse(&source).incomplete,
                "{:?}",
                source
            );
        }
    }
}
