//! The API's own view of a compile error, so that the compiler's internal
//! diagnostics can change without breaking users.

use std::ops::Range;

use super::ErrorCode;
use crate::diag::{self, SourceFile};

/// One error in the source: what, where, and the hints the command line
/// would print with it.
///
/// ```
/// let error = exprjit::compile("fn f(width) = widht").unwrap_err();
/// let first = &error.diagnostics()[0];
/// assert_eq!(first.code(), exprjit::ErrorCode::UnknownName);
/// assert_eq!(first.message(), "unknown name 'widht'");
/// assert_eq!(first.line_col(), (1, 15));
/// assert_eq!(first.span(), 14..19);
/// assert!(first.notes().iter().any(|note| note.contains("width")));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    code: ErrorCode,
    message: String,
    at: Place,
    label: String,
    related: Vec<Related>,
    notes: Vec<String>,
}

/// Another place a [`Diagnostic`] points at, such as an earlier
/// definition.
///
/// ```
/// let error = exprjit::compile("fn f(x) = 1\nfn f(x) = 2").unwrap_err();
/// let related = &error.diagnostics()[0].related()[0];
/// assert_eq!(related.line_col(), (1, 4));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Related {
    message: String,
    at: Place,
}

/// A byte range of the source and the line and column it starts at.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Place {
    span: Range<usize>,
    line_col: (usize, usize),
}

impl Place {
    fn of(span: crate::ast::Span, file: &SourceFile) -> Place {
        Place {
            span: span.start..span.end,
            line_col: file.line_col(span.start),
        }
    }
}

impl Diagnostic {
    pub(super) fn from_internal(diagnostic: &diag::Diagnostic, file: &SourceFile) -> Diagnostic {
        Diagnostic {
            code: diagnostic.code.unwrap_or(ErrorCode::SyntaxError),
            message: diagnostic.message.clone(),
            at: Place::of(diagnostic.span, file),
            label: diagnostic.label.clone(),
            related: diagnostic
                .related
                .iter()
                .map(|note| Related {
                    message: note.message.clone(),
                    at: Place::of(note.span, file),
                })
                .collect(),
            notes: diagnostic.help.clone(),
        }
    }

    /// What kind of error this is.
    ///
    /// ```
    /// let error = exprjit::compile("1 +").unwrap_err();
    /// assert_eq!(error.diagnostics()[0].code(), exprjit::ErrorCode::SyntaxError);
    /// ```
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The headline, e.g. `unknown function 'fbi'`.
    ///
    /// ```
    /// let error = exprjit::compile("fbi(1)").unwrap_err();
    /// assert_eq!(error.diagnostics()[0].message(), "unknown function 'fbi'");
    /// ```
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The byte range of the source the error is about.
    ///
    /// ```
    /// let error = exprjit::compile("1 + x").unwrap_err();
    /// assert_eq!(error.diagnostics()[0].span(), 4..5);
    /// ```
    pub fn span(&self) -> Range<usize> {
        self.at.span.clone()
    }

    /// The 1-based line and column where [`Diagnostic::span`] starts.
    ///
    /// ```
    /// let error = exprjit::compile("fn f(x) =\n  y").unwrap_err();
    /// assert_eq!(error.diagnostics()[0].line_col(), (2, 3));
    /// ```
    pub fn line_col(&self) -> (usize, usize) {
        self.at.line_col
    }

    /// The short text the command line prints next to the caret (may be
    /// empty).
    ///
    /// ```
    /// let error = exprjit::compile("fn f(x) = x\nf(1, 2)").unwrap_err();
    /// assert!(!error.diagnostics()[0].label().is_empty());
    /// ```
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Other places worth looking at.
    ///
    /// ```
    /// let error = exprjit::compile("fn f(x) = x\nf(1, 2)").unwrap_err();
    /// assert_eq!(error.diagnostics()[0].related()[0].line_col(), (1, 4));
    /// ```
    pub fn related(&self) -> &[Related] {
        &self.related
    }

    /// Hints, such as "did you mean ...?".
    ///
    /// ```
    /// let error = exprjit::compile("fn fib(n) = n\nfbi(3)").unwrap_err();
    /// assert!(error.diagnostics()[0].notes()[0].contains("fib"));
    /// ```
    pub fn notes(&self) -> &[String] {
        &self.notes
    }
}

impl Related {
    /// What is at that place.
    ///
    /// ```
    /// let error = exprjit::compile("fn f(x) = 1\nfn f(x) = 2").unwrap_err();
    /// assert!(!error.diagnostics()[0].related()[0].message().is_empty());
    /// ```
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The byte range it covers.
    ///
    /// ```
    /// let error = exprjit::compile("fn f(x) = 1\nfn f(x) = 2").unwrap_err();
    /// assert_eq!(error.diagnostics()[0].related()[0].span(), 3..4);
    /// ```
    pub fn span(&self) -> Range<usize> {
        self.at.span.clone()
    }

    /// The 1-based line and column it starts at.
    ///
    /// ```
    /// let error = exprjit::compile("fn f(x) = 1\nfn f(x) = 2").unwrap_err();
    /// assert_eq!(error.diagnostics()[0].related()[0].line_col(), (1, 4));
    /// ```
    pub fn line_col(&self) -> (usize, usize) {
        self.at.line_col
    }
}
