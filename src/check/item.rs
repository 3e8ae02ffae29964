//! Checking one item as soon as it has parsed ([`ItemChecker`]): what an
//! item can settle on its own (its variables, its literals, its parameter
//! list) is settled here, on the thread that parsed it, and what needs the
//! whole program (which function a call names, and whether it passes the
//! right number of arguments) is left for the join (`super::join`) as
//! [`Event`]s in the order the old single pass met them.
//!
//! Items come in the tree that holds only them (the parser drops each item
//! once it is checked), or in the whole tree of a program parsed before;
//! either way, symbols are those of one part's [`ast::Names`].

use std::ops::Range;

use crate::ast::{self, ExprKind, NodeId, Span, Symbol, UnOp};
use crate::diag::{Diagnostic, Diagnostics, ErrorCode, MAX_SHOWN_DIAGNOSTICS};
use crate::ir::{self, CompactSpan, LocalId};
use crate::parser::ItemSink;
use crate::suggest;

/// What one suggestion for an unknown variable may spend (see
/// [`suggest::closest_within`]): a share of what a whole check could
/// spend when only the first errors are shown. A fixed amount per error,
/// not a running total, so that a suggestion does not depend on how the
/// source was cut into parts.
const SUGGESTION_BUDGET: u64 = 20_000_000 / MAX_SHOWN_DIAGNOSTICS as u64;

/// `bindings` of a name bound to nothing.
const NO_BINDING: u32 = u32::MAX;

/// The call target of a call node until the join resolves it.
pub(super) const UNRESOLVED: ir::FuncId = u32::MAX as ir::FuncId;

/// What the join does, in order, for an item: the part of checking an
/// expression that needs the whole program.
#[derive(Clone, Debug)]
pub(super) enum Event {
    /// Call node `node` of the item's body calls `callee` with `given`
    /// arguments.
    Call {
        node: ir::NodeId,
        callee: Symbol,
        given: u32,
        /// The whole call; the callee's name starts it.
        span: CompactSpan,
    },
    /// The variable `name` at `span` is bound to nothing: an error, whose
    /// help depends on whether `name` is a function. `suggestion` is the
    /// closest name in scope (worked out only where the error can be among
    /// those shown).
    UnknownName {
        name: Symbol,
        span: CompactSpan,
        suggestion: Option<Box<str>>,
    },
}

/// A definition, checked as far as it can be on its own: its function is
/// the same index of [`CheckedPart::funcs`].
#[derive(Debug)]
pub(super) struct Definition {
    pub(super) name: ast::Ident,
    /// Its number of parameters (also its function's: kept here so that
    /// the join declares the definitions without reading the functions,
    /// a cache miss each).
    pub(super) arity: usize,
    /// Its events in [`CheckedPart::events`].
    pub(super) events: Range<usize>,
}

/// A top-level expression, checked as far as it can be on its own.
#[derive(Debug)]
pub(super) struct Expression {
    pub(super) span: Span,
    pub(super) locals: usize,
    pub(super) body: ir::Body,
    pub(super) events: Range<usize>,
}

/// An item of a part, in source order.
#[derive(Copy, Clone, Debug)]
pub(super) enum PartItem {
    /// The part's next definition.
    Def,
    Expr(usize),
}

/// What checking the items of one part of a source leaves for the join.
#[derive(Debug, Default)]
pub(super) struct CheckedPart {
    pub(super) defs: Vec<Definition>,
    /// The definitions' functions: everything but their
    /// [`ir::Func::link`], with their calls unresolved. (Apart from
    /// `defs`, so that the join can take them as they are into the
    /// program, the first part's without a copy.)
    pub(super) funcs: Vec<ir::Func>,
    pub(super) exprs: Vec<Expression>,
    pub(super) items: Vec<PartItem>,
    pub(super) events: Vec<Event>,
    /// The errors an item shows on its own.
    pub(super) errors: Diagnostics,
}

/// Checks the items of one part of a source, one at a time.
#[derive(Default)]
pub(crate) struct ItemChecker {
    part: CheckedPart,
    /// Indexed by symbol: the local a variable name is bound to in the
    /// function being checked, innermost binding, or [`NO_BINDING`]. Arrays
    /// rather than maps, so a lookup costs the same however many `let`s
    /// enclose it and nothing is hashed.
    bindings: Vec<u32>,
    /// The bindings that the ones in force replaced, innermost last, to
    /// restore when they end.
    shadowed: Vec<(Symbol, u32)>,
    /// The body being built.
    body: ir::Body,
    /// The operators of the left spines of the operator chains being
    /// checked, innermost last (see [`ItemChecker::binary_chain`]).
    spine: Vec<NodeId>,
    /// The checked arguments of the calls being checked, innermost last.
    pending_args: Vec<ir::NodeId>,
    /// The starts of the first errors of this part, at most
    /// [`MAX_SHOWN_DIAGNOSTICS`], sorted: an error that starts after all
    /// of them cannot be among the errors shown, so its suggestion is not
    /// worked out.
    first_errors: Vec<usize>,
}

impl ItemSink for ItemChecker {
    const KEEPS_TREE: bool = false;

    fn item(&mut self, program: &ast::Program, item: ast::Item) {
        self.check(program, item);
    }
}

/// A body of more nodes than this is built in a scratch of its own, which
/// it keeps, rather than in the scratch kept for the next item.
const HUGE_BODY_NODES: usize = 1 << 16;

impl ItemChecker {
    /// Checks `item` of `program`.
    pub(crate) fn check(&mut self, program: &ast::Program, item: ast::Item) {
        if self.bindings.len() < program.names.len() {
            self.bindings.resize(program.names.len(), NO_BINDING);
        }
        let first_event = self.part.events.len();
        match item {
            ast::Item::Func(def) => {
                let func = self.function(program, &def);
                let events = first_event..self.part.events.len();
                self.part.items.push(PartItem::Def);
                self.part.defs.push(Definition {
                    name: def.name,
                    arity: func.arity,
                    events,
                });
                self.part.funcs.push(func);
            }
            ast::Item::Expr(root) => {
                let mut locals = 0;
                let body = self.body(program, root, &mut locals);
                let events = first_event..self.part.events.len();
                self.part.items.push(PartItem::Expr(self.part.exprs.len()));
                self.part.exprs.push(Expression {
                    span: program.node(root).span(),
                    locals,
                    body,
                    events,
                });
            }
        }
    }

    /// What the items checked so far leave for the join.
    pub(super) fn finish(self) -> CheckedPart {
        self.part
    }

    /// Binds `name` to the next local of the function (counted in
    /// `locals`).
    fn bind(&mut self, name: Symbol, locals: &mut usize) -> LocalId {
        let local = *locals;
        *locals += 1;
        let previous = std::mem::replace(&mut self.bindings[name as usize], local as u32);
        self.shadowed.push((name, previous));
        local
    }

    /// Ends the innermost binding.
    fn unbind(&mut self) {
        if let Some((name, previous)) = self.shadowed.pop() {
            self.bindings[name as usize] = previous;
        }
    }

    fn function(&mut self, program: &ast::Program, def: &ast::FuncDef) -> ir::Func {
        let mut locals = 0;
        let params = program.params(def);
        let outer = self.shadowed.len();
        for (index, param) in params.iter().enumerate() {
            // Bindings end with the function, so a parameter name bound
            // already is a repeated one.
            if self.bindings[param.name as usize] != NO_BINDING {
                let first = params[..index]
                    .iter()
                    .find(|earlier| earlier.name == param.name)
                    .map_or(param.span, |earlier| earlier.span);
                self.repeated_parameter(program, param, first);
            }
            // Repeated parameters still get their own slot so arity stays
            // right; the last one is in scope.
            self.bind(param.name, &mut locals);
        }
        let body = self.body(program, def.body, &mut locals);
        while self.shadowed.len() > outer {
            self.unbind();
        }
        ir::Func {
            name: program.names[def.name.name].to_owned(),
            name_span: def.name.span,
            signature: declared(program, def),
            arity: params.len(),
            locals,
            body,
            // The join links it.
            link: ir::Link::TopLevel,
            def_span: Span::new(def.name.span.start, program.node(def.body).span().end),
        }
    }

    /// Checks the expression `root` into a body of its own: built in the
    /// scratch [`ItemChecker::body`], which has room for it from earlier
    /// items, then copied out at its exact size.
    fn body(&mut self, program: &ast::Program, root: NodeId, locals: &mut usize) -> ir::Body {
        self.body.clear();
        self.expr(program, root, locals);
        if self.body.len() > HUGE_BODY_NODES {
            // A huge item's scratch goes with it, rather than staying as
            // large as the largest item for the rest of the part.
            let mut body = std::mem::take(&mut self.body);
            body.shrink_to_fit();
            body
        } else {
            self.body.to_exact()
        }
    }

    /// Checks `id` into [`ItemChecker::body`]; returns its node, the last
    /// one pushed.
    fn expr(&mut self, program: &ast::Program, id: NodeId, locals: &mut usize) -> ir::NodeId {
        let node = program.node(id);
        let checked = match node.kind {
            ExprKind::Int(value) => ir::Node::Int(value),
            ExprKind::IntMinMagnitude => {
                self.min_magnitude(node.span());
                ir::Node::Int(0)
            }
            ExprKind::Var(name) => match self.bindings[name as usize] {
                NO_BINDING => {
                    self.unknown_name(program, name, node.span());
                    ir::Node::Int(0)
                }
                local => ir::Node::Local(local),
            },
            ExprKind::Call { callee, args } => {
                let first = self.pending_args.len();
                for &arg in program.args(args) {
                    let arg = self.expr(program, arg, locals);
                    self.pending_args.push(arg);
                }
                let given = self.pending_args.len() - first;
                let call = self
                    .body
                    .push_call(UNRESOLVED, &self.pending_args[first..], node.span());
                self.pending_args.truncate(first);
                self.part.events.push(Event::Call {
                    node: call,
                    callee,
                    given: given as u32,
                    span: node.span().into(),
                });
                return call;
            }
            ExprKind::Unary {
                op: UnOp::Neg,
                operand,
            } if program.node(operand).kind == ExprKind::IntMinMagnitude => {
                ir::Node::Int(i64::MIN)
            }
            ExprKind::Unary { op, operand } => ir::Node::Unary {
                op,
                operand: self.expr(program, operand, locals),
            },
            ExprKind::Binary { .. } => return self.binary_chain(program, id, locals),
            ExprKind::If {
                cond,
                then_branch,
                else_branch,
            } => {
                let cond = self.expr(program, cond, locals);
                let then_branch = self.expr(program, then_branch, locals);
                let else_branch = self.expr(program, else_branch, locals);
                return self.body.push_if(cond, then_branch, else_branch, node.span());
            }
            ExprKind::Let {
                name, value, body, ..
            } => {
                // The bound value is checked before the name is in scope.
                let value = self.expr(program, value, locals);
                let local = self.bind(name, locals);
                let body = self.expr(program, body, locals);
                self.unbind();
                ir::Node::Let {
                    local: local as u32,
                    value,
                    body,
                }
            }
        };
        self.body.push(checked)
    }

    /// Checks the binary operation `top` and the operations down its left
    /// operands in a loop, bottom first: a left-leaning chain such as
    /// `a + a + ... + a` takes no recursion per term (only the right
    /// operands recurse).
    fn binary_chain(&mut self, program: &ast::Program, top: NodeId, locals: &mut usize) -> ir::NodeId {
        let outer = self.spine.len();
        let mut id = top;
        while let ExprKind::Binary { lhs, .. } = program.node(id).kind {
            self.spine.push(id);
            id = lhs;
        }
        let mut left = self.expr(program, id, locals);
        while self.spine.len() > outer {
            let id = self.spine.pop().expect("above outer");
            let ExprKind::Binary {
                op, op_start, rhs, ..
            } = program.node(id).kind
            else {
                unreachable!("the spine holds binary operations")
            };
            let rhs = self.expr(program, rhs, locals);
            left = self.body.push(ir::Node::Binary {
                op,
                op_start,
                lhs: left,
                rhs,
            });
        }
        left
    }

    /// Whether an error starting at `start` can be among the errors shown:
    /// fewer than [`MAX_SHOWN_DIAGNOSTICS`] errors of this part start
    /// before it. Errors of other parts only make fewer of these shown, so
    /// every error shown passes.
    fn may_be_shown(&mut self, start: usize) -> bool {
        let at = self.first_errors.partition_point(|&first| first <= start);
        if at == MAX_SHOWN_DIAGNOSTICS {
            return false;
        }
        self.first_errors.insert(at, start);
        self.first_errors.truncate(MAX_SHOWN_DIAGNOSTICS);
        true
    }

    fn push_error(&mut self, error: Diagnostic) {
        self.may_be_shown(error.span.start);
        self.part.errors.push(error);
    }

    // The error reports below live outside `expr`, which recurses once per
    // nesting level: keeping their locals out of its frame keeps deep
    // programs within the compiler's stack.

    #[cold]
    #[inline(never)]
    fn repeated_parameter(&mut self, program: &ast::Program, param: &ast::Ident, first: Span) {
        self.push_error(
            Diagnostic::new(
                ErrorCode::DuplicateParameter,
                format!("parameter '{}' is repeated", &program.names[param.name]),
                param.span,
            )
            .with_label("repeated here")
            .with_related(first, "first declared here"),
        );
    }

    #[cold]
    #[inline(never)]
    fn min_magnitude(&mut self, span: Span) {
        self.push_error(
            Diagnostic::new(
                ErrorCode::LiteralOutOfRange,
                "integer literal out of range",
                span,
            )
            .with_label("the largest integer is 9223372036854775807")
            .with_help("only -9223372036854775808 may be written with this magnitude"),
        );
    }

    /// The variable `name` at `span` is bound to nothing: the join reports
    /// it (it may be a function's name); the closest name in scope is
    /// found here, where the scope is known.
    #[cold]
    #[inline(never)]
    fn unknown_name(&mut self, program: &ast::Program, name: Symbol, span: Span) {
        let suggestion = if self.may_be_shown(span.start) {
            let mut budget = SUGGESTION_BUDGET;
            let visible = self.shadowed.iter().map(|&(name, _)| &program.names[name]);
            suggest::closest_within(&program.names[name], visible, &mut budget).map(Box::from)
        } else {
            None
        };
        self.part.events.push(Event::UnknownName {
            name,
            span: span.into(),
            suggestion,
        });
    }
}

/// `name(p1, p2)` of a definition in the program.
fn declared(program: &ast::Program, def: &ast::FuncDef) -> String {
    let params = program.params(def);
    let len = program.names[def.name.name].len()
        + params
            .iter()
            .map(|param| program.names[param.name].len() + 2)
            .sum::<usize>()
        + 2;
    let mut text = String::with_capacity(len);
    text.push_str(&program.names[def.name.name]);
    text.push('(');
    for (index, param) in params.iter().enumerate() {
        if index > 0 {
            text.push_str(", ");
        }
        text.push_str(&program.names[param.name]);
    }
    text.push(')');
    text
}
