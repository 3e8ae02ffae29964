//! Name resolution and arity checking: turns the parsed program into the
//! resolved [`ir::CheckedProgram`], or reports every error it finds.
//!
//! Checking is in two steps, so that it can run as the source is read, on
//! the threads that parse it: each item is checked on its own as soon as
//! it has parsed (`item`: its variables, literals and parameters), and the
//! items of all the parts are then joined (`join`: definitions declared,
//! calls resolved, arities checked). Nothing of an item's syntax tree is
//! kept once it is checked.

use std::borrow::Borrow;

use crate::ast;
use crate::diag::Diagnostics;
use crate::ir::{self, GlobalId};

mod item;
mod join;
#[cfg(test)]
mod tests;

pub(crate) use item::ItemChecker;

/// Resolves names and checks arities. On failure returns every error found,
/// in source order. (The pipeline calls [`check_with`].)
#[cfg(test)]
pub fn check(program: &ast::Program) -> Result<ir::CheckedProgram, Diagnostics> {
    check_with(program, &NoEnvironment, &[])
}

/// A function the checker finds outside the program: in a REPL session.
#[derive(Clone, Debug)]
pub struct Known {
    /// Its number in the session (its slot in the function table).
    pub id: GlobalId,
    pub arity: usize,
    /// How it was declared, e.g. `add(x, y)`; `None` if it is not defined
    /// yet, only called (a forward reference), with `arity` arguments.
    pub signature: Option<String>,
}

/// What a program is checked against: the functions of the entries before
/// it in a REPL session. Looked up by name, never copied, so that checking
/// an entry costs the same however large the session is.
pub trait Environment {
    /// The function named `name`, if there is one.
    fn lookup(&self, name: &str) -> Option<Known>;
    /// The number the next new function gets.
    fn next_id(&self) -> GlobalId;
    /// The names of the functions whose bodies call function `id` (for the
    /// error that refuses to change its number of parameters under them).
    fn callers(&self, id: GlobalId) -> Vec<String>;
    /// Every name, for "did you mean" (only on an error).
    fn names(&self) -> Vec<String>;
    /// Whether a definition may call a function defined nowhere yet (a
    /// REPL session, where a later entry may define it) instead of that
    /// being an error (a file).
    fn forward_references(&self) -> bool;
}

/// No functions outside the program: a file, or the library's source.
pub struct NoEnvironment;

impl Environment for NoEnvironment {
    fn lookup(&self, _: &str) -> Option<Known> {
        None
    }
    fn next_id(&self) -> GlobalId {
        0
    }
    fn callers(&self, _: GlobalId) -> Vec<String> {
        Vec::new()
    }
    fn names(&self) -> Vec<String> {
        Vec::new()
    }
    fn forward_references(&self) -> bool {
        false
    }
}

/// Checks `program` in `env`, the functions of a REPL session's earlier
/// entries. A definition in `program` with the name of an earlier one
/// replaces it and keeps its [`GlobalId`], so that earlier callers reach
/// the new one. Changing the number of parameters of a function that an
/// earlier, not redefined function calls is an error.
///
/// `broken` names functions whose definitions did not parse; calls to them
/// are not reported as calls to unknown functions (so that the checker's
/// errors can be reported together with the syntax errors).
///
/// The result holds the program's definitions (with [`ir::FuncId`]s in
/// definition order, so that without an environment a function's
/// [`GlobalId`] is its [`ir::FuncId`]), one function per top-level expression,
/// and a declaration ([`ir::Link::External`]) for each function of the
/// environment that the program calls.
pub fn check_with(
    program: &ast::Program,
    env: &dyn Environment,
    broken: &[String],
) -> Result<ir::CheckedProgram, Diagnostics> {
    let mut checker = ItemChecker::default();
    for &item in &program.items {
        checker.check(program, item);
    }
    join_parts(vec![(checker, &program.names)], env, broken)
}

/// Joins the checkers of a source's parts (each with the names its
/// symbols are of), in source order, into the checked program; `env` and
/// `broken` as for [`check_with`].
pub(crate) fn join_parts<N: Borrow<ast::Names>>(
    parts: Vec<(ItemChecker, N)>,
    env: &dyn Environment,
    broken: &[String],
) -> Result<ir::CheckedProgram, Diagnostics> {
    let parts = parts
        .into_iter()
        .map(|(checker, names)| (checker.finish(), names))
        .collect();
    join::join(parts, env, broken)
}
