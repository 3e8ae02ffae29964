//! The nesting limit. The parser counts each node's height as it makes it
//! (`Tree::height`); only an item past the limit is walked, to find the
//! node the error points at.

use crate::ast::{Item, Program};
use crate::diag::{Diagnostic, ErrorCode};

/// Deepest expression nesting accepted. The later stages recurse at most
/// once per level (a left-leaning operator chain not at all) on a stack
/// sized for this (`pipeline::COMPILER_STACK_SIZE`); deeper input gets a
/// clear error instead of a crash.
pub const MAX_NESTING: usize = 1_000_000;

/// The error for `item` if its expression nests deeper than
/// [`MAX_NESTING`] (the parser asks only for an item whose height says
/// so): at the first node past the limit in a walk with an explicit stack
/// (which cannot overflow itself), last child first.
pub(super) fn too_deep(program: &Program, item: Item) -> Option<Diagnostic> {
    let root = match item {
        Item::Func(def) => def.body,
        Item::Expr(expr) => expr,
    };
    let mut work = vec![(root, 1usize)];
    let mut children = Vec::new();
    while let Some((id, depth)) = work.pop() {
        let node = program.node(id);
        if depth > MAX_NESTING {
            return Some(
                Diagnostic::new(
                    ErrorCode::NestedTooDeeply,
                    "expression nested too deeply",
                    node.span(),
                )
                .with_label(format!("more than {MAX_NESTING} levels of nesting")),
            );
        }
        program.push_children(node, &mut children);
        work.extend(children.drain(..).map(|child| (child, depth + 1)));
    }
    None
}
