//! The checked program: every name resolved, every call's arity verified.
//!
//! Code generation and any other back end consume this form and never see
//! names: variables are numbered slots of their function, calls name a
//! function by index.
//!
//! The IR is flat. Each function owns its nodes in one arena ([`Body`]):
//! children are `u32` indices, a node's children come before it, every
//! node takes 16 bytes (what does not fit, such as call arguments, is a
//! range of the body's list of extra words), and spans are `u32` offsets. A body is thus a few contiguous allocations however large it
//! is (walking it touches memory in order instead of chasing one `Box` per
//! node), and a function stays self-contained: it can be moved, cloned or
//! kept by a REPL session on its own. Readers go through [`Expr`], a
//! copyable view of one node, and match on [`Expr::kind`], which hands out
//! the children as views again.

use crate::ast::{BinOp, ExprKind, Span, UnOp};

/// The span of a binary operator that starts at `op_start`.
#[inline]
fn binary_op_span(op: BinOp, op_start: u32) -> Span {
    ExprKind::binary_op_span(op, op_start)
}

/// Index of a function in [`CheckedProgram::funcs`].
pub type FuncId = usize;

/// A function's number in the whole program or REPL session, which its
/// definition keeps when it is replaced: the slot of the session's
/// function table that holds its code. (In a program compiled on its own,
/// the same as its [`FuncId`].)
pub type GlobalId = usize;

/// Index of a variable (parameter or `let` binding) within its function.
/// Parameters are `0..arity`; each `let` gets the next free index.
pub type LocalId = usize;

/// Index of a node in its function's [`Body`].
pub type NodeId = u32;

/// A program ready for code generation.
#[derive(Clone, Debug, Default)]
pub struct CheckedProgram {
    /// The user's functions, then one zero-parameter function per top-level
    /// expression.
    pub funcs: Vec<Func>,
    /// The functions holding the top-level expressions, in source order.
    pub top_level: Vec<FuncId>,
    /// The items of the checked source, in order.
    pub items: Vec<Item>,
}

/// An item of the checked source.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Item {
    /// A function definition.
    Def(FuncId),
    /// A top-level expression, held by a zero-parameter function.
    Expr(FuncId),
}

/// One function.
#[derive(Clone, Debug)]
pub struct Func {
    /// The user's name, or a description such as `<top-level expression 1>`.
    pub name: String,
    /// Where the name is written (for a top-level expression: the expression).
    pub name_span: Span,
    /// How the user declared it, e.g. `add(x, y)`.
    pub signature: String,
    /// Number of parameters.
    pub arity: usize,
    /// Parameters plus `let` bindings: the number of distinct [`LocalId`]s.
    pub locals: usize,
    /// The nodes of the body.
    pub body: Body,
    /// What the function is to the world outside this program.
    pub link: Link,
    /// For a definition: from its name to the end of its body, the text a
    /// REPL session compiles again when the function must be recompiled
    /// (the `fn` before it is found in the text).
    pub def_span: Span,
}

/// How a function of a [`CheckedProgram`] is linked to the code outside it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Link {
    /// Defined here: the program's (or session's) function `GlobalId`.
    Defined(GlobalId),
    /// A top-level expression: nothing calls it.
    TopLevel,
    /// Only declared here, for the calls of this program into another
    /// entry of a REPL session: the session's function `GlobalId`, reached
    /// through the function table, which may not be defined yet. Its
    /// `body` is unused.
    External(GlobalId),
}

impl Link {
    /// The session's (or program's) number of the function, unless it is
    /// a top-level expression, which has none.
    pub fn id(self) -> Option<GlobalId> {
        match self {
            Link::Defined(id) | Link::External(id) => Some(id),
            Link::TopLevel => None,
        }
    }
}

impl Func {
    /// The body's root expression.
    pub fn root(&self) -> Expr<'_> {
        self.body.root()
    }

    /// True for a declaration of a function of another entry
    /// ([`Link::External`]): it has no code here and is never inlined.
    pub fn is_external(&self) -> bool {
        matches!(self.link, Link::External(_))
    }
}

/// A half-open byte range of the source, stored in half the space of an
/// [`ast::Span`](Span) (sources are far smaller than 4 GiB).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct CompactSpan {
    start: u32,
    end: u32,
}

impl From<Span> for CompactSpan {
    fn from(span: Span) -> CompactSpan {
        let offset = |at: usize| u32::try_from(at).expect("sources are under 4 GiB");
        CompactSpan {
            start: offset(span.start),
            end: offset(span.end),
        }
    }
}

impl From<CompactSpan> for Span {
    fn from(span: CompactSpan) -> Span {
        Span::new(span.start as usize, span.end as usize)
    }
}

/// A node as stored, in 16 bytes: children are [`NodeId`]s of the same
/// body. What does not fit goes in the body's list of extra words (see
/// [`Body`]): a call's span and arguments, an `if`'s else branch and span.
/// Spans are kept where a runtime error can point, and on calls and `if`s
/// for the line table of debug info (`-g`). Build nodes with [`Body::push`],
/// [`Body::push_call`] and [`Body::push_if`]; read them through
/// [`Expr::kind`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Node {
    Int(i64),
    Local(u32),
    Call {
        /// The [`FuncId`], in 32 bits.
        func: u32,
        /// Where the call's words start in the body's extra list: the
        /// span (name to closing parenthesis) as two words, then `count`
        /// argument node ids.
        extra: u32,
        count: u32,
    },
    Unary {
        op: UnOp,
        operand: NodeId,
    },
    Binary {
        op: BinOp,
        /// Where the operator starts (its span, where a division by zero
        /// is reported, follows from the operator's length).
        op_start: u32,
        lhs: NodeId,
        rhs: NodeId,
    },
    If {
        cond: NodeId,
        then_branch: NodeId,
        /// Where the `if`'s words start in the body's extra list: the else
        /// branch's node id, then the span of the whole
        /// `if ... then ... else ...` as two words.
        extra: u32,
    },
    Let {
        local: u32,
        value: NodeId,
        body: NodeId,
    },
}

// Nodes are most of the memory a large program takes while it compiles.
const _: () = assert!(std::mem::size_of::<Node>() == 16);

/// The nodes of one function body, children before parents; the last node
/// pushed is the root.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Body {
    nodes: Vec<Node>,
    /// What the nodes do not hold themselves, each node's words
    /// contiguous: a call's span and arguments, an `if`'s else branch and
    /// span.
    extra: Vec<u32>,
}

impl Body {
    /// Appends `node` (whose children must be in the body already) and
    /// returns its id. Calls and `if`s go through [`Body::push_call`] and
    /// [`Body::push_if`], which write their extra words.
    pub fn push(&mut self, node: Node) -> NodeId {
        let id = u32::try_from(self.nodes.len()).expect("fewer than 2^32 nodes");
        self.nodes.push(node);
        id
    }

    /// Appends the extra words `words`; returns where they start.
    fn push_extra(&mut self, words: &[u32]) -> u32 {
        let at = u32::try_from(self.extra.len()).expect("fewer than 2^32 extra words");
        self.extra.extend_from_slice(words);
        at
    }

    /// Appends a call of `func` with `args` (nodes of this body).
    pub fn push_call(&mut self, func: FuncId, args: &[NodeId], span: Span) -> NodeId {
        let span = CompactSpan::from(span);
        let extra = self.push_extra(&[span.start, span.end]);
        self.extra.extend_from_slice(args);
        self.push(Node::Call {
            func: u32::try_from(func).expect("fewer than 2^32 functions"),
            extra,
            count: args.len() as u32,
        })
    }

    /// Appends `if cond then then_branch else else_branch`, spanning `span`.
    pub fn push_if(&mut self, cond: NodeId, then_branch: NodeId, else_branch: NodeId, span: Span) -> NodeId {
        let span = CompactSpan::from(span);
        let extra = self.push_extra(&[else_branch, span.start, span.end]);
        self.push(Node::If {
            cond,
            then_branch,
            extra,
        })
    }

    /// Makes call node `node` call `func` (the checker resolves calls once
    /// it has seen the whole program).
    pub(crate) fn resolve_call(&mut self, node: NodeId, func: FuncId) {
        if let Node::Call { func: target, .. } = &mut self.nodes[node as usize] {
            *target = u32::try_from(func).expect("fewer than 2^32 functions");
        }
    }

    /// The span stored in the extra words at `at`.
    #[inline(always)]
    fn extra_span(&self, at: u32) -> Span {
        match self.extra[at as usize..] {
            [start, end, ..] => Span::new(start as usize, end as usize),
            _ => unreachable!("a span is two extra words"),
        }
    }

    /// The argument ids of a call whose words start at `extra`.
    #[inline(always)]
    fn call_args(&self, extra: u32, count: u32) -> &[NodeId] {
        let first = extra as usize + 2;
        &self.extra[first..first + count as usize]
    }

    /// The number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The root expression: the last node pushed.
    pub fn root(&self) -> Expr<'_> {
        let id = self.nodes.len().checked_sub(1).expect("a body has a root");
        self.at(id as NodeId)
    }

    /// The expression of node `id`.
    pub fn at(&self, id: NodeId) -> Expr<'_> {
        Expr { body: self, id }
    }

    /// A body of the single node `node` (which has no children).
    pub fn leaf(node: Node) -> Body {
        let mut body = Body::default();
        body.push(node);
        body
    }

    /// Every function this body calls, once per call.
    pub fn callees(&self) -> impl Iterator<Item = FuncId> + '_ {
        self.nodes.iter().filter_map(|node| match *node {
            Node::Call { func, .. } => Some(func as FuncId),
            _ => None,
        })
    }

    /// True if this body calls `func` anywhere.
    pub fn calls(&self, func: FuncId) -> bool {
        self.nodes
            .iter()
            .any(|node| matches!(*node, Node::Call { func: callee, .. } if callee as FuncId == func))
    }

    /// Empties the body, keeping its room (a scratch body for building
    /// one function after another).
    pub(crate) fn clear(&mut self) {
        self.nodes.clear();
        self.extra.clear();
    }

    /// A copy in exactly the room it needs (a body is built once, in a
    /// scratch body, and kept).
    pub(crate) fn to_exact(&self) -> Body {
        // `Vec::clone` allocates exactly the length.
        self.clone()
    }

    /// Frees the room left unused.
    pub fn shrink_to_fit(&mut self) {
        self.nodes.shrink_to_fit();
        self.extra.shrink_to_fit();
    }
}

/// One expression of a [`Body`]: a copyable handle (the body and a node
/// id) to match on through [`Expr::kind`].
#[derive(Copy, Clone)]
pub struct Expr<'f> {
    body: &'f Body,
    id: NodeId,
}

impl std::fmt::Debug for Expr<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "#{} {:?}", self.id, self.node())
    }
}

/// What an expression is, with its children as [`Expr`]s.
#[derive(Copy, Clone, Debug)]
pub enum Kind<'f> {
    Int(i64),
    Local(LocalId),
    Call {
        func: FuncId,
        args: Args<'f>,
        /// The whole call, name to closing parenthesis.
        span: Span,
    },
    Unary {
        op: UnOp,
        operand: Expr<'f>,
    },
    Binary {
        op: BinOp,
        /// The operator, where a division by zero is reported.
        op_span: Span,
        lhs: Expr<'f>,
        rhs: Expr<'f>,
    },
    If {
        cond: Expr<'f>,
        then_branch: Expr<'f>,
        else_branch: Expr<'f>,
        /// The whole `if ... then ... else ...`.
        span: Span,
    },
    Let {
        local: LocalId,
        value: Expr<'f>,
        body: Expr<'f>,
    },
}

impl<'f> Expr<'f> {
    /// The node as stored.
    #[inline]
    pub fn node(self) -> &'f Node {
        &self.body.nodes[self.id as usize]
    }

    /// The node's id in its body.
    pub fn id(self) -> NodeId {
        self.id
    }

    /// Node `id` of the same body.
    #[inline]
    pub fn sibling(self, id: NodeId) -> Expr<'f> {
        self.body.at(id)
    }

    /// Which body the expression is in, as an address: with [`Expr::id`],
    /// it tells expressions of different bodies apart.
    pub fn body_address(self) -> usize {
        std::ptr::from_ref(self.body) as usize
    }

    /// What the expression is, children included. (Always inlined: the
    /// lowering matches on it at every node, and most callers use a part.)
    #[inline(always)]
    pub fn kind(self) -> Kind<'f> {
        let at = |id: NodeId| self.body.at(id);
        match *self.node() {
            Node::Int(value) => Kind::Int(value),
            Node::Local(local) => Kind::Local(local as LocalId),
            Node::Call { func, extra, count } => Kind::Call {
                func: func as FuncId,
                args: Args {
                    body: self.body,
                    ids: self.body.call_args(extra, count),
                },
                span: self.body.extra_span(extra),
            },
            Node::Unary { op, operand } => Kind::Unary {
                op,
                operand: at(operand),
            },
            Node::Binary {
                op,
                op_start,
                lhs,
                rhs,
            } => Kind::Binary {
                op,
                op_span: binary_op_span(op, op_start),
                lhs: at(lhs),
                rhs: at(rhs),
            },
            Node::If {
                cond,
                then_branch,
                extra,
            } => Kind::If {
                cond: at(cond),
                then_branch: at(then_branch),
                else_branch: at(self.body.extra[extra as usize]),
                span: self.body.extra_span(extra + 1),
            },
            Node::Let { local, value, body } => Kind::Let {
                local: local as LocalId,
                value: at(value),
                body: at(body),
            },
        }
    }

    /// The value, if the expression is a literal.
    #[inline]
    pub fn int(self) -> Option<i64> {
        match *self.node() {
            Node::Int(value) => Some(value),
            _ => None,
        }
    }

    /// True for expressions that are a constant or a variable: they cannot
    /// fail, have no effects, and can be read at any time.
    #[inline]
    pub fn is_leaf(self) -> bool {
        matches!(self.node(), Node::Int(_) | Node::Local(_))
    }

    /// True if this expression is a call of `func`.
    #[inline]
    pub fn is_call_of(self, func: FuncId) -> bool {
        matches!(*self.node(), Node::Call { func: callee, .. } if callee as FuncId == func)
    }

    /// Pushes the ids of the direct subexpressions onto `work`, for walks
    /// with an explicit stack (which survive any nesting depth). (One
    /// `push` each: `extend` of an array cost more than the walk's own
    /// work per node.)
    #[inline]
    pub fn push_children(self, work: &mut Vec<NodeId>) {
        match *self.node() {
            Node::Int(_) | Node::Local(_) => {}
            Node::Call { extra, count, .. } => {
                work.extend_from_slice(self.body.call_args(extra, count));
            }
            Node::Unary { operand, .. } => work.push(operand),
            Node::Binary { lhs, rhs, .. } => {
                work.push(lhs);
                work.push(rhs);
            }
            Node::If {
                cond,
                then_branch,
                extra,
            } => {
                work.push(cond);
                work.push(then_branch);
                work.push(self.body.extra[extra as usize]);
            }
            Node::Let { value, body, .. } => {
                work.push(value);
                work.push(body);
            }
        }
    }
}

/// The arguments of a call, in order.
#[derive(Copy, Clone)]
pub struct Args<'f> {
    body: &'f Body,
    ids: &'f [NodeId],
}

impl std::fmt::Debug for Args<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'f> Args<'f> {
    pub fn len(self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(self) -> bool {
        self.ids.is_empty()
    }

    /// Argument `index`.
    pub fn get(self, index: usize) -> Option<Expr<'f>> {
        self.ids.get(index).map(|&id| self.body.at(id))
    }

    /// Every argument, first to last.
    pub fn iter(self) -> ArgsIter<'f> {
        ArgsIter {
            body: self.body,
            ids: self.ids.iter(),
        }
    }
}

impl<'f> IntoIterator for Args<'f> {
    type Item = Expr<'f>;
    type IntoIter = ArgsIter<'f>;

    fn into_iter(self) -> ArgsIter<'f> {
        self.iter()
    }
}

/// The iterator of [`Args::iter`].
#[derive(Clone)]
pub struct ArgsIter<'f> {
    body: &'f Body,
    ids: std::slice::Iter<'f, NodeId>,
}

impl<'f> Iterator for ArgsIter<'f> {
    type Item = Expr<'f>;

    #[inline]
    fn next(&mut self) -> Option<Expr<'f>> {
        self.ids.next().map(|&id| self.body.at(id))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.ids.size_hint()
    }
}

impl DoubleEndedIterator for ArgsIter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.ids.next_back().map(|&id| self.body.at(id))
    }
}

impl ExactSizeIterator for ArgsIter<'_> {}
