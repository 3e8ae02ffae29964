//! [`Diagnostics`]: the errors of one compile, bounded in memory. A hostile
//! source of 100 MB can hold fifty million errors (`$` on every line);
//! storing them all took about 150 bytes of memory per source byte, and
//! nobody reads past the first screenful. So only the first
//! [`MAX_SHOWN_DIAGNOSTICS`] in source order are kept, and the rest are
//! counted.

use std::ops::Deref;

use super::{Diagnostic, MAX_SHOWN_DIAGNOSTICS};

/// The first [`MAX_SHOWN_DIAGNOSTICS`] errors pushed, in source order (by
/// where they start, then in the order pushed), and how many more there
/// were. Derefs to the kept ones.
///
/// Keeping the first ones in source order, whatever order they are pushed
/// in, gives what sorting every error and keeping the first would: lists
/// made apart (the lexer's, each parser thread's, the checker's) can be
/// joined with [`Diagnostics::append`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Diagnostics {
    /// Sorted by `span.start`, equal starts in the order pushed; at most
    /// [`MAX_SHOWN_DIAGNOSTICS`].
    kept: Vec<Diagnostic>,
    /// Errors pushed but not kept: each starts after every kept one (or at
    /// the same place, pushed later). Non-zero only when `kept` is full.
    omitted: usize,
}

impl Diagnostics {
    pub fn new() -> Diagnostics {
        Diagnostics::default()
    }

    /// Adds `diagnostic`, or only counts it if [`MAX_SHOWN_DIAGNOSTICS`]
    /// earlier ones are kept. Errors come nearly in source order, so the
    /// usual cost is one binary search; at worst an insertion moves the
    /// hundred kept ones.
    pub fn push(&mut self, diagnostic: Diagnostic) {
        let start = diagnostic.span.start;
        let at = self.kept.partition_point(|kept| kept.span.start <= start);
        if at == MAX_SHOWN_DIAGNOSTICS {
            self.omitted += 1;
            return;
        }
        if self.kept.len() == MAX_SHOWN_DIAGNOSTICS {
            self.kept.pop();
            self.omitted += 1;
        }
        self.kept.insert(at, diagnostic);
    }

    /// Whether an error starting at `start` pushed now would be kept
    /// (until enough errors before it are pushed): worth working out help
    /// for.
    pub fn may_keep(&self, start: usize) -> bool {
        self.kept.partition_point(|kept| kept.span.start <= start) < MAX_SHOWN_DIAGNOSTICS
    }

    /// Adds the errors of `other`, as if each had been pushed here. (Those
    /// it only counted start after the ones it kept, so they would not be
    /// kept here either.)
    pub fn append(&mut self, other: Diagnostics) {
        self.omitted += other.omitted;
        for diagnostic in other.kept {
            self.push(diagnostic);
        }
    }

    /// How many errors were pushed, kept or not.
    pub fn total(&self) -> usize {
        self.kept.len() + self.omitted
    }

    /// How many errors were only counted.
    pub fn omitted(&self) -> usize {
        self.omitted
    }

    /// The kept errors, in source order.
    pub fn into_kept(self) -> Vec<Diagnostic> {
        self.kept
    }
}

impl Deref for Diagnostics {
    type Target = [Diagnostic];

    /// The kept errors, in source order. Empty exactly when no error was
    /// pushed.
    fn deref(&self) -> &[Diagnostic] {
        &self.kept
    }
}

impl<'a> IntoIterator for &'a Diagnostics {
    type Item = &'a Diagnostic;
    type IntoIter = std::slice::Iter<'a, Diagnostic>;

    /// The kept errors, in source order.
    fn into_iter(self) -> Self::IntoIter {
        self.kept.iter()
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(diagnostic: Diagnostic) -> Diagnostics {
        Diagnostics {
            kept: vec![diagnostic],
            omitted: 0,
        }
    }
}

impl Extend<Diagnostic> for Diagnostics {
    fn extend<I: IntoIterator<Item = Diagnostic>>(&mut self, diagnostics: I) {
        for diagnostic in diagnostics {
            self.push(diagnostic);
        }
    }
}

impl FromIterator<Diagnostic> for Diagnostics {
    fn from_iter<I: IntoIterator<Item = Diagnostic>>(diagnostics: I) -> Diagnostics {
        let mut list = Diagnostics::new();
        list.extend(diagnostics);
        list
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::Span;

    fn at(start: usize, message: &str) -> Diagnostic {
        Diagnostic::error(message, Span::new(start, start + 1))
    }

    /// What sorting every error (stably) and keeping the first gives.
    fn sorted_and_cut(mut all: Vec<Diagnostic>) -> (Vec<Diagnostic>, usize) {
        all.sort_by_key(|d| d.span.start);
        let omitted = all.len().saturating_sub(MAX_SHOWN_DIAGNOSTICS);
        all.truncate(MAX_SHOWN_DIAGNOSTICS);
        (all, omitted)
    }

    #[test]
    fn keeps_the_first_in_source_order_whatever_the_order_pushed() {
        // Backwards, forwards, interleaved, with ties (told apart by their
        // messages, which keep the order pushed).
        let orders: [Vec<usize>; 3] = [
            (0..1000).rev().collect(),
            (0..1000).collect(),
            (0..1000).map(|i| (i * 7919) % 500).collect(),
        ];
        for order in orders {
            let all: Vec<Diagnostic> = order
                .iter()
                .enumerate()
                .map(|(pushed, &start)| at(start, &pushed.to_string()))
                .collect();
            let list: Diagnostics = all.iter().cloned().collect();
            let (expected, omitted) = sorted_and_cut(all);
            assert_eq!(list.to_vec(), expected);
            assert_eq!(list.omitted(), omitted);
            assert_eq!(list.total(), 1000);
        }
    }

    #[test]
    fn appending_lists_made_apart_is_pushing_into_one() {
        let early: Vec<Diagnostic> = (0..150).map(|i| at(i, "early")).collect();
        let late: Vec<Diagnostic> = (100..130).map(|i| at(i, "late")).collect();
        let mut joined: Diagnostics = late.iter().cloned().collect();
        joined.append(early.iter().cloned().collect());
        let (expected, omitted) = sorted_and_cut([late, early].concat());
        assert_eq!(joined.to_vec(), expected);
        assert_eq!(joined.omitted(), omitted);
        assert!(Diagnostics::new().is_empty());
    }
}
