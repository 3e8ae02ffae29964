//! The layout rule of the language, applied to tokens as they come from the
//! lexer: it drops the newlines that do not end an item (inside
//! parentheses, after a token that cannot end an expression, before a line
//! that starts with `then`/`else`/`in`, an infix operator or `=`) and cuts
//! the stream into items at the others and at `;`.
//!
//! Tokens are never stored: [`ItemTokens`] hands one item's tokens to the
//! grammar one at a time, and records in [`ItemState`] what a syntax error
//! of the item needs to know (its first and last tokens, the parentheses
//! open, how it ended). The rule needs only the parenthesis depth, the
//! item's last token and one token of lookahead past newlines.

use super::RefusedToken;
use super::chain::ChainCheck;
use super::nesting::NestingCount;
use crate::ast::Span;
use crate::lexer::{Token, Tokens};

/// A token with its byte range, as the grammar takes it.
pub(crate) type Spanned = (usize, Token, usize);

/// What ended an item.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub(crate) enum Terminator {
    Newline,
    Semicolon,
    #[default]
    EndOfInput,
}

/// The lexer's tokens, with the one token read past a run of newlines.
pub(crate) struct Layout<'src> {
    tokens: Tokens<'src>,
    peeked: Option<Spanned>,
}

impl<'src> Layout<'src> {
    /// The layout of `text`, which starts at byte `offset` of the source.
    pub(crate) fn new(text: &'src str, offset: usize) -> Self {
        Layout {
            tokens: Tokens::at(text, offset),
            peeked: None,
        }
    }

    /// The lexer's errors, once the input has been read.
    pub(crate) fn into_errors(self) -> crate::diag::Diagnostics {
        self.tokens.errors
    }

    fn next_token(&mut self) -> Option<Spanned> {
        self.peeked.take().or_else(|| self.tokens.next())
    }

    /// The next item's tokens, or `None` at the end of the input. The item
    /// must be read to its end (the grammar stops early on an error; the
    /// caller then drains the rest) before the next one is asked for.
    pub(crate) fn next_item<'a>(
        &'a mut self,
        item: &'a mut ItemState,
    ) -> Option<(Spanned, ItemTokens<'a, 'src>)> {
        item.reset();
        let mut tokens = ItemTokens {
            layout: self,
            item,
            ended: false,
        };
        // An item cannot end before its first token, so `None` here is the
        // end of the input.
        match tokens.next()? {
            Ok(first) => Some((first, tokens)),
            Err(_) => unreachable!("the first token of an item is neither a second comparison nor a millionth level"),
        }
    }
}

/// What is known about the item being read, recorded as its tokens pass.
#[derive(Debug, Default)]
pub(crate) struct ItemState {
    /// Tokens read so far.
    len: usize,
    first: Option<Spanned>,
    pub(crate) last: Option<Spanned>,
    /// Where the name after a leading `fn` is.
    pub(crate) defines: Option<Span>,
    /// How many `(` are open.
    paren_depth: usize,
    /// Positions of the `(` still open (not kept once the item is being
    /// drained after an error: all its tokens would be kept then).
    pub(crate) open_parens: Vec<usize>,
    /// The innermost `(` open just before the last token.
    pub(crate) open_before_last: Option<usize>,
    /// The last token is a `)` with no `(` to close.
    pub(crate) last_is_unmatched_close: bool,
    pub(crate) ended_by: Terminator,
    chain_check: ChainCheck,
    nesting: NestingCount,
    /// The grammar has stopped at an error: the rest of the item is only
    /// read to find where it ends.
    draining: bool,
}

impl ItemState {
    /// From the item's first token to its last.
    pub(crate) fn span(&self) -> Span {
        match (self.first, self.last) {
            (Some(first), Some(last)) => Span::new(first.0, last.2),
            _ => Span::default(),
        }
    }

}

impl ItemState {
    /// Makes this the state of a new item. The lists keep their room from
    /// item to item: growing them again for every item cost more than
    /// the rest of the state.
    fn reset(&mut self) {
        let mut open_parens = std::mem::take(&mut self.open_parens);
        open_parens.clear();
        let mut chain_check = std::mem::take(&mut self.chain_check);
        chain_check.reset();
        let mut nesting = std::mem::take(&mut self.nesting);
        nesting.reset();
        *self = ItemState {
            open_parens,
            chain_check,
            nesting,
            ..ItemState::default()
        };
    }

    /// Notes `token` as the item's next.
    fn record(&mut self, token: Spanned) -> Result<(), RefusedToken> {
        self.len += 1;
        if self.len == 1 {
            self.first = Some(token);
        } else if self.len == 2
            && let Some((_, Token::Fn, _)) = self.first
            && token.1 == Token::Ident
        {
            self.defines = Some(Span::new(token.0, token.2));
        }
        self.last = Some(token);
        match token.1 {
            Token::LParen => self.paren_depth += 1,
            Token::RParen => self.paren_depth = self.paren_depth.saturating_sub(1),
            _ => {}
        }
        if self.draining {
            return Ok(());
        }
        self.open_before_last = self.open_parens.last().copied();
        self.last_is_unmatched_close = false;
        match token.1 {
            Token::LParen => self.open_parens.push(token.0),
            Token::RParen => self.last_is_unmatched_close = self.open_parens.pop().is_none(),
            _ => {}
        }
        let span = Span::new(token.0, token.2);
        self.chain_check
            .next(token.1, span)
            .map_err(|chained| RefusedToken::ChainedComparison(chained.0))?;
        self.nesting
            .next(token.1, span)
            .map_err(|too_deep| RefusedToken::NestedTooDeeply(too_deep.0))
    }
}

/// The tokens of one item, for the grammar: a second comparison in a row
/// comes as an error ([`ChainCheck`]).
pub(crate) struct ItemTokens<'a, 'src> {
    layout: &'a mut Layout<'src>,
    item: &'a mut ItemState,
    ended: bool,
}

impl<'src> ItemTokens<'_, 'src> {
    /// What has been recorded of the item so far.
    pub(crate) fn state(&self) -> &ItemState {
        self.item
    }

    /// Reads the rest of the item (after the grammar stopped at an error).
    pub(crate) fn drain(&mut self) {
        self.item.draining = true;
        while self.next().is_some() {}
    }

    fn end(&mut self, by: Terminator) -> Option<<Self as Iterator>::Item> {
        self.item.ended_by = by;
        self.ended = true;
        None
    }
}

impl Iterator for ItemTokens<'_, '_> {
    type Item = Result<Spanned, RefusedToken>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.ended {
            return None;
        }
        loop {
            let Some(token) = self.layout.next_token() else {
                return self.end(Terminator::EndOfInput);
            };
            match token.1 {
                Token::Newline => {
                    // Decide once for a whole run of blank lines.
                    let next = loop {
                        match self.layout.tokens.next() {
                            Some((_, Token::Newline, _)) => {}
                            other => break other,
                        }
                    };
                    self.layout.peeked = next;
                    let continues = |next: &Token| {
                        matches!(next, Token::Then | Token::Else | Token::In)
                            || next.continues_previous_line()
                    };
                    let ends = self.item.paren_depth == 0
                        && self
                            .item
                            .last
                            .is_some_and(|(_, last, _)| last.can_end_expression())
                        && !next.is_some_and(|(_, next, _)| continues(&next));
                    if ends {
                        return self.end(Terminator::Newline);
                    }
                }
                Token::Semicolon if self.item.paren_depth == 0 => {
                    if self.item.len > 0 {
                        return self.end(Terminator::Semicolon);
                    }
                }
                _ => return Some(self.item.record(token).map(|()| token)),
            }
        }
    }
}
