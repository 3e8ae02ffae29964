//! The parsed program: a typed tree with a byte span on every node.
//!
//! The tree is flat: nodes live in one arena ([`Program::nodes`]) and
//! refer to their children by `u32` index, spans are `u32` offsets, and
//! names are interned once ([`Symbol`]), so parsing allocates nothing per
//! node. `check` resolves the names and produces the flat [`crate::ir`]
//! that code generation consumes.

use std::fmt;

/// A half-open byte range `start..end` into the source text.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }

    /// The smallest span covering both `self` and `other`.
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }
}

impl From<Span> for std::ops::Range<usize> {
    fn from(span: Span) -> Self {
        span.start..span.end
    }
}

/// A node of the syntax tree: an index into [`Program::nodes`].
pub type NodeId = u32;

/// A name, interned: an index into [`Program::names`]. Equal names are
/// equal symbols.
pub type Symbol = u32;

/// A whole source file: its items in source order, and the flat tree they
/// point into. Nodes are in one arena and refer to each other by index;
/// a name is stored once however often it is written.
#[derive(Clone, Debug, Default)]
pub struct Program {
    pub items: Vec<Item>,
    /// Every expression node. A node's children come before it.
    pub nodes: Vec<Node>,
    /// The arguments of calls ([`ExprKind::Call::args`]).
    pub args: Vec<NodeId>,
    /// The parameters of definitions ([`FuncDef::params`]).
    pub params: Vec<Ident>,
    pub names: Names,
}

/// The interned names of a program: their text in one buffer and a hash
/// table of symbols, so that interning allocates nothing per name and
/// dropping the names frees a few buffers. Each name's hash is kept, for
/// the table to grow without hashing again and for lookups of the same
/// text in other tables ([`Names::hash_of`]).
#[derive(Clone, Default)]
pub struct Names {
    /// Every name's text, one after another.
    text: String,
    /// Where each name ends in `text`: symbol `s` is
    /// `ends[s - 1]..ends[s]` (from 0 for the first).
    ends: Vec<u32>,
    hashes: Vec<u64>,
    table: hashbrown::HashTable<Symbol>,
}

impl fmt::Debug for Names {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Names {
    /// The hash of a name's text, the same in every table.
    pub fn hash(name: &str) -> u64 {
        use std::hash::BuildHasher;
        foldhash::fast::FixedState::default().hash_one(name)
    }

    /// The symbol of `name`, interning it if it is new.
    pub fn intern(&mut self, name: &str) -> Symbol {
        let hash = Names::hash(name);
        if let Some(symbol) = self.get_hashed(name, hash) {
            return symbol;
        }
        let symbol = u32::try_from(self.ends.len()).expect("fewer than 2^32 names");
        self.text.push_str(name);
        // The source limit keeps the text within 32 bits.
        self.ends.push(self.text.len() as u32);
        self.hashes.push(hash);
        let hashes = &self.hashes;
        self.table
            .insert_unique(hash, symbol, |&symbol| hashes[symbol as usize]);
        symbol
    }

    /// The symbol of `name`, if the program writes it.
    pub fn get(&self, name: &str) -> Option<Symbol> {
        self.get_hashed(name, Names::hash(name))
    }

    /// The symbol of `name`, whose [`Names::hash`] is `hash`.
    pub fn get_hashed(&self, name: &str, hash: u64) -> Option<Symbol> {
        self.table
            .find(hash, |&symbol| &self[symbol] == name)
            .copied()
    }

    /// The [`Names::hash`] of `symbol`'s text.
    pub fn hash_of(&self, symbol: Symbol) -> u64 {
        self.hashes[symbol as usize]
    }

    /// Every name's [`Names::hash`], in symbol order.
    pub(crate) fn hashes(&self) -> &[u64] {
        &self.hashes
    }

    /// The table of symbols, whose hashes are [`Names::hashes`]: another
    /// table that numbers these names alike can start as a copy.
    pub(crate) fn table(&self) -> &hashbrown::HashTable<Symbol> {
        &self.table
    }

    /// How many distinct names there are: symbols are `0..len()`.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Every name, in symbol order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        (0..self.len()).map(|symbol| &self[symbol as Symbol])
    }
}

impl std::ops::Index<Symbol> for Names {
    type Output = str;

    fn index(&self, symbol: Symbol) -> &str {
        let index = symbol as usize;
        let start = match index {
            0 => 0,
            _ => self.ends[index - 1] as usize,
        };
        &self.text[start..self.ends[index] as usize]
    }
}

/// A range of a program's list ([`Program::args`], [`Program::params`]).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct List {
    pub start: u32,
    pub len: u32,
}

impl List {
    pub fn range(self) -> std::ops::Range<usize> {
        self.start as usize..(self.start + self.len) as usize
    }
}

impl Program {
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id as usize]
    }

    /// The arguments of a call.
    pub fn args(&self, list: List) -> &[NodeId] {
        &self.args[list.range()]
    }

    /// The parameters of a definition.
    pub fn params(&self, def: &FuncDef) -> &[Ident] {
        &self.params[def.params.range()]
    }

    /// The span of the callee's name of a call node.
    pub fn callee_span(&self, node: &Node, callee: Symbol) -> Span {
        let start = node.span().start;
        Span::new(start, start + self.names[callee].len())
    }

    /// Appends the items of `other`, parsed from a later part of the same
    /// source: its nodes and lists after this program's, its names
    /// interned here.
    pub fn append(&mut self, other: Program) {
        let symbols: Vec<Symbol> = (0..other.names.len())
            .map(|symbol| self.names.intern(&other.names[symbol as Symbol]))
            .collect();
        let name = |symbol: Symbol| symbols[symbol as usize];
        let nodes = u32::try_from(self.nodes.len()).expect("fewer than 2^32 nodes");
        let args = u32::try_from(self.args.len()).expect("fewer than 2^32 arguments");
        let params = u32::try_from(self.params.len()).expect("fewer than 2^32 parameters");
        let ident = |ident: Ident| Ident {
            name: name(ident.name),
            ..ident
        };
        self.nodes.extend(other.nodes.into_iter().map(|node| {
            let kind = match node.kind {
                kind @ (ExprKind::Int(_) | ExprKind::IntMinMagnitude) => kind,
                ExprKind::Var(symbol) => ExprKind::Var(name(symbol)),
                ExprKind::Call { callee, args: list } => ExprKind::Call {
                    callee: name(callee),
                    args: List {
                        start: list.start + args,
                        ..list
                    },
                },
                ExprKind::Unary { op, operand } => ExprKind::Unary {
                    op,
                    operand: operand + nodes,
                },
                ExprKind::Binary {
                    op,
                    op_start,
                    lhs,
                    rhs,
                } => ExprKind::Binary {
                    op,
                    op_start,
                    lhs: lhs + nodes,
                    rhs: rhs + nodes,
                },
                ExprKind::If {
                    cond,
                    then_branch,
                    else_branch,
                } => ExprKind::If {
                    cond: cond + nodes,
                    then_branch: then_branch + nodes,
                    else_branch: else_branch + nodes,
                },
                ExprKind::Let {
                    name: bound,
                    name_start,
                    value,
                    body,
                } => ExprKind::Let {
                    name: name(bound),
                    name_start,
                    value: value + nodes,
                    body: body + nodes,
                },
            };
            Node { kind, ..node }
        }));
        self.args.extend(other.args.iter().map(|&arg| arg + nodes));
        self.params.extend(other.params.iter().map(|&param| ident(param)));
        self.items.extend(other.items.iter().map(|&item| match item {
            Item::Func(def) => Item::Func(FuncDef {
                name: ident(def.name),
                params: List {
                    start: def.params.start + params,
                    ..def.params
                },
                body: def.body + nodes,
                span: def.span,
            }),
            Item::Expr(expr) => Item::Expr(expr + nodes),
        }));
    }

    /// Pushes the direct subexpressions of `node` onto `work`, for walks
    /// with an explicit stack (which survive any nesting depth), in the
    /// order they are written.
    pub fn push_children(&self, node: &Node, work: &mut Vec<NodeId>) {
        match node.kind {
            ExprKind::Int(_) | ExprKind::IntMinMagnitude | ExprKind::Var(_) => {}
            ExprKind::Call { args, .. } => work.extend_from_slice(self.args(args)),
            ExprKind::Unary { operand, .. } => work.push(operand),
            ExprKind::Binary { lhs, rhs, .. } => work.extend([lhs, rhs]),
            ExprKind::If {
                cond,
                then_branch,
                else_branch,
            } => work.extend([cond, then_branch, else_branch]),
            ExprKind::Let { value, body, .. } => work.extend([value, body]),
        }
    }
}

/// One top-level item.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum Item {
    /// `fn name(params) = body`
    Func(FuncDef),
    /// A top-level expression, evaluated and printed when the program runs.
    Expr(NodeId),
}

/// A name together with where it was written.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Ident {
    pub name: Symbol,
    pub span: Span,
}

/// `fn name(p1, p2, ...) = body`
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct FuncDef {
    pub name: Ident,
    pub params: List,
    pub body: NodeId,
    /// From `fn` to the end of the body.
    pub span: Span,
}

/// An expression node: what it is and the bytes it spans.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Node {
    pub kind: ExprKind,
    start: u32,
    end: u32,
}

impl Node {
    pub fn new(kind: ExprKind, span: Span) -> Node {
        // The source limit keeps every offset within 32 bits.
        Node {
            kind,
            start: span.start as u32,
            end: span.end as u32,
        }
    }

    pub fn span(&self) -> Span {
        Span::new(self.start as usize, self.end as usize)
    }
}

#[derive(Copy, Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// An integer literal (hex and binary literals already reinterpreted as
    /// their 64-bit pattern).
    Int(i64),
    /// The decimal literal `9223372036854775808`, which is only valid as the
    /// operand of unary minus. `check` folds `-9223372036854775808` into
    /// `i64::MIN`; anywhere else it reports it as out of range.
    IntMinMagnitude,
    /// A parameter or `let` binding.
    Var(Symbol),
    /// `callee(args...)`; the callee's name starts the node's span.
    Call { callee: Symbol, args: List },
    /// The operator is the node's first byte.
    Unary { op: UnOp, operand: NodeId },
    Binary {
        op: BinOp,
        /// Where the operator starts (its span is as long as its symbol).
        op_start: u32,
        lhs: NodeId,
        rhs: NodeId,
    },
    If {
        cond: NodeId,
        then_branch: NodeId,
        else_branch: NodeId,
    },
    Let {
        name: Symbol,
        /// Where the bound name starts.
        name_start: u32,
        value: NodeId,
        body: NodeId,
    },
}

impl ExprKind {
    /// The span of a binary operator.
    pub fn binary_op_span(op: BinOp, op_start: u32) -> Span {
        let start = op_start as usize;
        Span::new(start, start + op.symbol().len())
    }
}

/// Prefix operators.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum UnOp {
    /// `-x`, wrapping.
    Neg,
    /// `!x`: 1 if x is 0, else 0.
    Not,
    /// `~x`: bitwise not.
    BitNot,
}

/// Infix operators.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum BinOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    BitOr,
    BitXor,
    BitAnd,
    Shl,
    Shr,
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

impl UnOp {
    /// Every prefix operator (for the tests' program generator).
    #[cfg(any(test, feature = "internals"))]
    pub const ALL: [UnOp; 3] = [UnOp::Neg, UnOp::Not, UnOp::BitNot];

    /// The operator's value on `operand`: the language's semantics, shared
    /// by the reference interpreter and constant folding.
    pub fn apply(self, operand: i64) -> i64 {
        match self {
            UnOp::Neg => operand.wrapping_neg(),
            UnOp::Not => i64::from(operand == 0),
            UnOp::BitNot => !operand,
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            UnOp::Neg => "-",
            UnOp::Not => "!",
            UnOp::BitNot => "~",
        }
    }
}

impl BinOp {
    /// Every infix operator, lowest precedence first (for the tests'
    /// program generator).
    #[cfg(any(test, feature = "internals"))]
    pub const ALL: [BinOp; 18] = [
        BinOp::Or,
        BinOp::And,
        BinOp::Eq,
        BinOp::Ne,
        BinOp::Lt,
        BinOp::Le,
        BinOp::Gt,
        BinOp::Ge,
        BinOp::BitOr,
        BinOp::BitXor,
        BinOp::BitAnd,
        BinOp::Shl,
        BinOp::Shr,
        BinOp::Add,
        BinOp::Sub,
        BinOp::Mul,
        BinOp::Div,
        BinOp::Rem,
    ];

    /// The operator's value on two evaluated operands, or `None` for a
    /// division or remainder by zero: the language's semantics, shared by the
    /// reference interpreter and constant folding. Arithmetic wraps, `/`
    /// truncates toward zero (`i64::MIN / -1` is `i64::MIN`), `%` takes the
    /// dividend's sign, shift counts are taken modulo 64 and `>>` is
    /// arithmetic. `&&` and `||` give the truth of both operands here; their
    /// short-circuit evaluation is the evaluator's business.
    pub fn apply(self, lhs: i64, rhs: i64) -> Option<i64> {
        Some(match self {
            BinOp::Or => i64::from(lhs != 0 || rhs != 0),
            BinOp::And => i64::from(lhs != 0 && rhs != 0),
            BinOp::Eq => i64::from(lhs == rhs),
            BinOp::Ne => i64::from(lhs != rhs),
            BinOp::Lt => i64::from(lhs < rhs),
            BinOp::Le => i64::from(lhs <= rhs),
            BinOp::Gt => i64::from(lhs > rhs),
            BinOp::Ge => i64::from(lhs >= rhs),
            BinOp::BitOr => lhs | rhs,
            BinOp::BitXor => lhs ^ rhs,
            BinOp::BitAnd => lhs & rhs,
            // `wrapping_shl` takes the count modulo 64, as x86 does.
            BinOp::Shl => lhs.wrapping_shl(rhs as u32),
            BinOp::Shr => lhs.wrapping_shr(rhs as u32),
            BinOp::Add => lhs.wrapping_add(rhs),
            BinOp::Sub => lhs.wrapping_sub(rhs),
            BinOp::Mul => lhs.wrapping_mul(rhs),
            BinOp::Div | BinOp::Rem if rhs == 0 => return None,
            BinOp::Div => lhs.wrapping_div(rhs),
            BinOp::Rem => lhs.wrapping_rem(rhs),
        })
    }

    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Or => "||",
            BinOp::And => "&&",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::BitOr => "|",
            BinOp::BitXor => "^",
            BinOp::BitAnd => "&",
            BinOp::Shl => "<<",
            BinOp::Shr => ">>",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Rem => "%",
        }
    }

    /// True for `== != < <= > >=`.
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge
        )
    }
}

impl fmt::Display for UnOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.symbol())
    }
}

impl fmt::Display for BinOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.symbol())
    }
}

/// Renders the program as S-expressions, one item per line, e.g.
/// `(fn fib (n) (if (< n 2) n (+ (fib (- n 1)) (fib (- n 2)))))`.
impl fmt::Display for Program {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for item in &self.items {
            match item {
                Item::Func(def) => {
                    write!(f, "(fn {} (", &self.names[def.name.name])?;
                    for (index, param) in self.params(def).iter().enumerate() {
                        if index > 0 {
                            f.write_str(" ")?;
                        }
                        f.write_str(&self.names[param.name])?;
                    }
                    f.write_str(") ")?;
                    self.write_expr(f, def.body)?;
                    f.write_str(")\n")?;
                }
                Item::Expr(expr) => {
                    self.write_expr(f, *expr)?;
                    f.write_str("\n")?;
                }
            }
        }
        Ok(())
    }
}

impl Program {
    /// Writes one expression as an S-expression (recursing once per
    /// nesting level: it runs on the compiler's big stack, after the
    /// nesting limit).
    fn write_expr(&self, f: &mut fmt::Formatter<'_>, id: NodeId) -> fmt::Result {
        match self.node(id).kind {
            ExprKind::Int(value) => write!(f, "{value}"),
            ExprKind::IntMinMagnitude => f.write_str("9223372036854775808"),
            ExprKind::Var(name) => f.write_str(&self.names[name]),
            ExprKind::Call { callee, args } => {
                write!(f, "({}", &self.names[callee])?;
                for &arg in self.args(args) {
                    f.write_str(" ")?;
                    self.write_expr(f, arg)?;
                }
                f.write_str(")")
            }
            ExprKind::Unary { op, operand } => {
                write!(f, "({op} ")?;
                self.write_expr(f, operand)?;
                f.write_str(")")
            }
            ExprKind::Binary { op, lhs, rhs, .. } => {
                write!(f, "({op} ")?;
                self.write_expr(f, lhs)?;
                f.write_str(" ")?;
                self.write_expr(f, rhs)?;
                f.write_str(")")
            }
            ExprKind::If {
                cond,
                then_branch,
                else_branch,
            } => {
                f.write_str("(if ")?;
                self.write_expr(f, cond)?;
                f.write_str(" ")?;
                self.write_expr(f, then_branch)?;
                f.write_str(" ")?;
                self.write_expr(f, else_branch)?;
                f.write_str(")")
            }
            ExprKind::Let {
                name, value, body, ..
            } => {
                write!(f, "(let {} ", &self.names[name])?;
                self.write_expr(f, value)?;
                f.write_str(" ")?;
                self.write_expr(f, body)?;
                f.write_str(")")
            }
        }
    }
}
