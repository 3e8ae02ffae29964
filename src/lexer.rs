//! The lexer: source text to tokens, built on `logos`.
//!
//! Newlines are tokens, because they can end items; [`crate::parser`]
//! decides which ones do. Comments and blanks (space, tab, CR) are skipped.
//! Integer literals are checked here; [`int_value`] decodes one, so that
//! every later stage sees an `i64` (or the one magnitude, 2^63, that only
//! unary minus can use).
//!
//! A token is its kind alone, a byte: a name's or a literal's text is
//! where its span says. Every stage moves tokens many times (the layout
//! rule, the grammar's stack), and a token that borrowed its text took 24
//! bytes.

use std::fmt;

use logos::Logos;

use crate::ast::Span;
use crate::diag::{Diagnostic, Diagnostics, ErrorCode};

/// A token of the language: its text is the source at its span.
///
/// A word wide: in a `(usize, Token, usize)` a byte-sized token left
/// seven bytes of padding, which the compiler copied with overlapping
/// loads of what had just been stored bytewise (a store-forwarding stall
/// per move, and the grammar's driver moves every token several times).
#[derive(Logos, Copy, Clone, Debug, PartialEq, Eq)]
#[repr(u64)]
#[logos(error = LexError)]
#[logos(skip r"[ \t\r]+")]
// A comment runs to the end of its line: the greedy match is the point.
#[logos(skip(r"#[^\n]*", allow_greedy = true))]
pub enum Token {
    #[token("\n")]
    Newline,
    #[token(";")]
    Semicolon,
    #[token(",")]
    Comma,
    #[token("(")]
    LParen,
    #[token(")")]
    RParen,
    #[token("=")]
    Assign,

    #[token("fn")]
    Fn,
    #[token("if")]
    If,
    #[token("then")]
    Then,
    #[token("else")]
    Else,
    #[token("let")]
    Let,
    #[token("in")]
    In,

    #[token("||")]
    OrOr,
    #[token("&&")]
    AndAnd,
    #[token("==")]
    EqEq,
    #[token("!=")]
    NotEq,
    #[token("<")]
    Lt,
    #[token("<=")]
    Le,
    #[token(">")]
    Gt,
    #[token(">=")]
    Ge,
    #[token("|")]
    Pipe,
    #[token("^")]
    Caret,
    #[token("&")]
    Amp,
    #[token("<<")]
    Shl,
    #[token(">>")]
    Shr,
    #[token("+")]
    Plus,
    #[token("-")]
    Minus,
    #[token("*")]
    Star,
    #[token("/")]
    Slash,
    #[token("%")]
    Percent,
    #[token("!")]
    Bang,
    #[token("~")]
    Tilde,

    /// A name. Keywords win over this pattern (logos prefers the literal
    /// token on an exact match).
    #[regex("[A-Za-z_][A-Za-z0-9_]*")]
    Ident,

    /// An integer literal. The pattern deliberately swallows trailing letters
    /// and digits (`12ab`, `0x`, `0b102`) so that a malformed literal is one
    /// error, not a literal followed by a confusing name.
    #[regex("[0-9][0-9A-Za-z_]*", check_int)]
    Int,

    /// Input the lexer could not make sense of. The parser reports it.
    Error,
}

/// The value of an integer literal.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum IntLit {
    Value(i64),
    /// The decimal `9223372036854775808`: valid only right after unary minus.
    MinMagnitude,
}

/// Why a piece of input is not a token.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum LexError {
    #[default]
    UnknownCharacter,
    /// A literal with a bad digit, a missing digit or a misplaced `_`.
    InvalidLiteral(&'static str),
    /// A literal that does not fit in 64 bits.
    OutOfRange,
}

/// The tokens of a source text with their byte ranges, plus the errors
/// found on the way. Every error also leaves a token behind (a
/// [`Token::Error`], or an `Int` for a bad literal, whose value is 0) so
/// that parsing can go on and report more.
#[derive(Clone, Debug, Default)]
pub struct Lexed {
    pub tokens: Vec<(usize, Token, usize)>,
    pub errors: Diagnostics,
}

/// Splits `source` into tokens, all at once (for `--emit tokens` and the
/// REPL's highlighting; the parser reads [`Tokens`] as they come).
pub fn tokenize(source: &str) -> Lexed {
    let mut tokens = Tokens::new(source);
    let all = tokens.by_ref().collect();
    Lexed {
        tokens: all,
        errors: tokens.errors,
    }
}

/// The tokens of a source text, read one at a time with their byte ranges;
/// the errors found so far collect in [`Tokens::errors`].
pub struct Tokens<'src> {
    lexer: logos::Lexer<'src, Token>,
    /// Where the text being lexed starts in the source: spans are offsets
    /// into the whole source.
    offset: usize,
    /// Invalid literals seen so far, in source order (the first hundred,
    /// and a count of the rest).
    pub errors: Diagnostics,
}

impl<'src> Tokens<'src> {
    pub fn new(source: &'src str) -> Self {
        Tokens::at(source, 0)
    }

    /// The tokens of `text`, which starts at byte `offset` of the source
    /// (where a token starts).
    pub fn at(text: &'src str, offset: usize) -> Self {
        Tokens {
            lexer: Token::lexer(text),
            offset,
            errors: Diagnostics::new(),
        }
    }
}

impl<'src> Iterator for Tokens<'src> {
    type Item = (usize, Token, usize);

    fn next(&mut self) -> Option<Self::Item> {
        let result = self.lexer.next()?;
        let range = self.lexer.span();
        let range = range.start + self.offset..range.end + self.offset;
        let token = match result {
            Ok(token) => token,
            // The parser turns an error token into "unknown character".
            Err(LexError::UnknownCharacter) => Token::Error,
            Err(error) => {
                self.errors
                    .push(literal_error(error, Span::new(range.start, range.end)));
                Token::Int
            }
        };
        Some((range.start, token, range.end))
    }
}

/// The diagnostic for a bad literal.
#[cold]
fn literal_error(error: LexError, span: Span) -> Diagnostic {
    match error {
        LexError::InvalidLiteral(why) => {
            Diagnostic::new(ErrorCode::InvalidLiteral, "invalid integer literal", span)
                .with_label(why)
                .with_help("literals are decimal (42), hex (0xff) or binary (0b1010)")
        }
        LexError::OutOfRange | LexError::UnknownCharacter => Diagnostic::new(
            ErrorCode::LiteralOutOfRange,
            "integer literal out of range",
            span,
        )
        .with_label("does not fit in 64 bits")
        .with_help(
            "integers are 64-bit: decimal literals go up to \
                 9223372036854775807, hex and binary ones up to 64 bits",
        ),
    }
}

fn check_int(lexer: &mut logos::Lexer<'_, Token>) -> Result<(), LexError> {
    decode_int(lexer.slice()).map(|_| ())
}

/// The value of the integer literal `text` (the text of a [`Token::Int`]);
/// 0 for one the lexer reported as invalid.
pub fn int_value(text: &str) -> IntLit {
    decode_int(text).unwrap_or(IntLit::Value(0))
}

/// Decodes the text of an integer literal.
fn decode_int(text: &str) -> Result<IntLit, LexError> {
    // Most literals are short and decimal, and each is decoded twice (the
    // lexer checks it, the tree takes its value): 18 digits cannot
    // overflow.
    if text.len() <= 18 && text.bytes().all(|byte| byte.is_ascii_digit()) {
        let value = text
            .bytes()
            .fold(0, |value, digit| value * 10 + i64::from(digit - b'0'));
        return Ok(IntLit::Value(value));
    }
    let (radix, digits) = match text.get(..2) {
        Some("0x" | "0X") => (16, &text[2..]),
        Some("0b" | "0B") => (2, &text[2..]),
        _ => (10, text),
    };
    if digits.is_empty() {
        return Err(LexError::InvalidLiteral("no digits after the prefix"));
    }
    if digits.starts_with('_') || digits.ends_with('_') {
        return Err(LexError::InvalidLiteral("`_` may only separate digits"));
    }
    let mut value: u64 = 0;
    let mut overflow = false;
    for ch in digits.chars().filter(|&c| c != '_') {
        let Some(digit) = ch.to_digit(radix) else {
            return Err(LexError::InvalidLiteral(match radix {
                16 => "not a hexadecimal digit",
                2 => "not a binary digit",
                _ => "not a decimal digit",
            }));
        };
        match value
            .checked_mul(u64::from(radix))
            .and_then(|v| v.checked_add(u64::from(digit)))
        {
            Some(next) => value = next,
            // Keep scanning: a bad digit later on is the better message.
            None => overflow = true,
        }
    }
    if overflow {
        return Err(LexError::OutOfRange);
    }
    const MIN_MAGNITUDE: u64 = 1 << 63;
    match radix {
        // Hex and binary literals spell out a bit pattern.
        16 | 2 => Ok(IntLit::Value(value as i64)),
        _ if value < MIN_MAGNITUDE => Ok(IntLit::Value(value as i64)),
        _ if value == MIN_MAGNITUDE => Ok(IntLit::MinMagnitude),
        _ => Err(LexError::OutOfRange),
    }
}

impl Token {
    /// True for the tokens that can only be an infix operator.
    /// (`-` is excluded: it is also prefix negation.)
    pub fn is_infix_only(&self) -> bool {
        use Token::*;
        matches!(
            self,
            OrOr | AndAnd
                | EqEq
                | NotEq
                | Lt
                | Le
                | Gt
                | Ge
                | Pipe
                | Caret
                | Amp
                | Shl
                | Shr
                | Plus
                | Star
                | Slash
                | Percent
        )
    }

    /// True if a line starting with this token continues the item of the
    /// line before: an infix operator (not `-`, which may negate) or `=`
    /// (as in a definition whose parameter list took several lines). Neither
    /// can start an item.
    pub fn continues_previous_line(&self) -> bool {
        self.is_infix_only() || *self == Token::Assign
    }

    /// True for the comparison operators.
    pub fn is_comparison(&self) -> bool {
        use Token::*;
        matches!(self, EqEq | NotEq | Lt | Le | Gt | Ge)
    }

    /// True if an expression can end with this token. A newline after a
    /// token that cannot end one continues the item on the next line.
    pub fn can_end_expression(&self) -> bool {
        matches!(
            self,
            Token::Ident | Token::Int | Token::RParen | Token::Error
        )
    }

    /// The source spelling of a punctuation or keyword token.
    pub fn symbol(&self) -> Option<&'static str> {
        use Token::*;
        Some(match self {
            Newline => "\\n",
            Semicolon => ";",
            Comma => ",",
            LParen => "(",
            RParen => ")",
            Assign => "=",
            Fn => "fn",
            If => "if",
            Then => "then",
            Else => "else",
            Let => "let",
            In => "in",
            OrOr => "||",
            AndAnd => "&&",
            EqEq => "==",
            NotEq => "!=",
            Lt => "<",
            Le => "<=",
            Gt => ">",
            Ge => ">=",
            Pipe => "|",
            Caret => "^",
            Amp => "&",
            Shl => "<<",
            Shr => ">>",
            Plus => "+",
            Minus => "-",
            Star => "*",
            Slash => "/",
            Percent => "%",
            Bang => "!",
            Tilde => "~",
            Ident | Int | Error => return None,
        })
    }

    pub fn is_keyword(&self) -> bool {
        use Token::*;
        matches!(self, Fn | If | Then | Else | Let | In)
    }
}

impl Token {
    /// How this token, whose text is `text`, is described to a user, e.g.
    /// in `--emit tokens` and in "found ..." parts of syntax errors.
    pub fn shown(self, text: &str) -> Shown<'_> {
        Shown { token: self, text }
    }
}

/// A token described to a user ([`Token::shown`]).
pub struct Shown<'a> {
    token: Token,
    text: &'a str,
}

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.token {
            Token::Newline => f.write_str("newline"),
            Token::Ident => write!(f, "name `{}`", self.text),
            Token::Int => match int_value(self.text) {
                IntLit::Value(value) => write!(f, "integer `{value}`"),
                IntLit::MinMagnitude => f.write_str("integer `9223372036854775808`"),
            },
            Token::Error => f.write_str("unknown character"),
            token if token.is_keyword() => write!(f, "keyword `{}`", token.symbol().unwrap_or("")),
            token => write!(f, "`{}`", token.symbol().unwrap_or("")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tokens of `source`, a name or a literal as its text or value.
    fn kinds(source: &str) -> Vec<Kind<'_>> {
        let lexed = tokenize(source);
        assert!(lexed.errors.is_empty(), "{:?}", lexed.errors);
        lexed
            .tokens
            .into_iter()
            .map(|(start, token, end)| match token {
                Token::Ident => Kind::Name(&source[start..end]),
                Token::Int => Kind::Literal(int_value(&source[start..end])),
                token => Kind::Other(token),
            })
            .collect()
    }

    #[derive(Debug, PartialEq)]
    enum Kind<'a> {
        Name(&'a str),
        Literal(IntLit),
        Other(Token),
    }

    fn int(value: i64) -> Kind<'static> {
        Kind::Literal(IntLit::Value(value))
    }

    #[test]
    fn operators_take_the_longest_match() {
        use Token::*;
        let expected = [
            Shl, Assign, Le, Shl, Lt, Shr, Ge, EqEq, Assign, NotEq, Bang, OrOr, Pipe, AndAnd, Amp,
        ];
        assert_eq!(
            kinds("<<= <= << < >> >= == = != ! || | && &"),
            expected.map(Kind::Other)
        );
    }

    #[test]
    fn keywords_and_names() {
        use Kind::*;
        assert_eq!(
            kinds("fn iff if in_ in _x9"),
            [
                Other(Token::Fn),
                Name("iff"),
                Other(Token::If),
                Name("in_"),
                Other(Token::In),
                Name("_x9")
            ]
        );
    }

    #[test]
    fn comments_and_blanks_are_skipped_but_newlines_are_not() {
        assert_eq!(
            kinds("1 # one\r\n\t2"),
            [int(1), Kind::Other(Token::Newline), int(2)]
        );
    }

    #[test]
    fn literals_in_every_base() {
        assert_eq!(
            kinds("1_000 0xff 0b101 007"),
            [int(1000), int(255), int(5), int(7)]
        );
        assert_eq!(kinds("0xFFFF_FFFF_FFFF_FFFF"), [int(-1)]);
        assert_eq!(kinds("9223372036854775807"), [int(i64::MAX)]);
        assert_eq!(
            kinds("9223372036854775808"),
            [Kind::Literal(IntLit::MinMagnitude)]
        );
    }

    #[test]
    fn a_literal_s_value_is_read_from_its_text() {
        assert_eq!(int_value("999999999999999999"), IntLit::Value(999_999_999_999_999_999));
        assert_eq!(int_value("1000000000000000000"), IntLit::Value(1_000_000_000_000_000_000));
        assert_eq!(int_value("9223372036854775807"), IntLit::Value(i64::MAX));
        assert_eq!(int_value("9223372036854775808"), IntLit::MinMagnitude);
        assert_eq!(int_value("0x1F"), IntLit::Value(31));
        assert_eq!(int_value("1_000"), IntLit::Value(1000));
        // One the lexer reported: its value is 0, so the parse goes on.
        assert_eq!(int_value("12ab"), IntLit::Value(0));
        assert_eq!(int_value("99999999999999999999"), IntLit::Value(0));
    }

    #[test]
    fn bad_literals_are_errors() {
        for source in [
            "9223372036854775809",
            "0x1_0000_0000_0000_0000",
            "12ab",
            "0x",
            "0b2",
            "1_",
        ] {
            let lexed = tokenize(source);
            assert_eq!(lexed.errors.len(), 1, "{source}");
            assert_eq!(lexed.tokens.len(), 1, "{source}");
        }
    }

    #[test]
    fn unknown_characters_become_error_tokens() {
        let lexed = tokenize("1 $ 2");
        assert_eq!(lexed.tokens[1], (2, Token::Error, 3));
        let lexed = tokenize("é");
        assert_eq!(lexed.tokens, [(0, Token::Error, 2)]);
    }
}
