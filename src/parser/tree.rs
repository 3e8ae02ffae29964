//! Building the flat syntax tree from the grammar's actions ([`Tree`]).
//!
//! Infix operators: the grammar reads `a + b * c - d` as a flat chain of
//! operands and operators, and [`Tree`] gives the operators their
//! precedence and associativity (precedence climbing, shunting-yard style,
//! on one operator stack shared by every chain of an item). A nested chain
//! (in parentheses, an argument, a branch) is finished before the chain
//! around it goes on, so all chains can share the stacks; the arguments of
//! nested calls share one stack the same way.

use crate::ast::{BinOp, ExprKind, FuncDef, Ident, Item, List, Node, NodeId, Program, Span, Symbol, UnOp};
use crate::lexer::{self, IntLit};

/// Where a chain starts on [`Tree`]'s operator stack (the value the
/// grammar's `Chain` nonterminal carries).
pub(crate) type ChainStart = u32;

/// Where a call's arguments start on [`Tree`]'s argument stack.
pub(crate) type ArgsStart = u32;

/// The program being parsed, and the stacks of the chains and calls being
/// read.
pub(crate) struct Tree<'src> {
    /// The whole source: a name's or a literal's text is where its token's
    /// span says.
    source: &'src str,
    pub(crate) program: Program,
    operands: Vec<NodeId>,
    /// Each operator with where it starts.
    operators: Vec<(BinOp, u32)>,
    /// The arguments of the calls being read.
    args: Vec<NodeId>,
    /// The height of each node of the item being read (a leaf's is 1),
    /// from its first node: the nesting limit is counted as nodes are
    /// made, with no walk of the item afterwards.
    heights: Vec<u32>,
    /// The first node of the item being read.
    item_start: usize,
    /// Each slot: a short name's key ([`short_key`]) and its symbol.
    short_names: Box<[(u64, Symbol); SHORT_NAME_SLOTS]>,
}

/// How many short names [`Tree`] remembers (a direct-mapped cache: a
/// name seen again since takes the slot).
const SHORT_NAME_SLOTS: usize = 256;

/// A name of at most 8 bytes as a number: its bytes, zero-padded. Names
/// never contain a zero byte (the lexer's pattern), so two names have one
/// key only if they are the same; and a key is never 0.
fn short_key(name: &str) -> Option<u64> {
    let bytes = name.as_bytes();
    if bytes.is_empty() || bytes.len() > 8 {
        return None;
    }
    let mut word = [0; 8];
    word[..bytes.len()].copy_from_slice(bytes);
    Some(u64::from_le_bytes(word))
}

/// How much of [`Tree::program`] an item had built, to undo a failed one.
#[derive(Copy, Clone, Debug)]
pub(crate) struct Mark {
    items: usize,
    nodes: usize,
    args: usize,
    params: usize,
}

fn offset(position: usize) -> u32 {
    // The source limit keeps every offset within 32 bits.
    position as u32
}

impl<'src> Tree<'src> {
    /// An empty tree for the items of `source` (or of a part of it: spans
    /// are offsets into the whole source).
    pub(crate) fn new(source: &'src str) -> Self {
        Tree {
            source,
            program: Program::default(),
            operands: Vec::new(),
            operators: Vec::new(),
            args: Vec::new(),
            heights: Vec::new(),
            item_start: 0,
            short_names: Box::new([(0, 0); SHORT_NAME_SLOTS]),
        }
    }

    /// The symbol of the name at `start..end`. Most names are short and
    /// used again and again (parameters, variables): a short one seen
    /// lately is found by its bytes, without hashing and comparing its
    /// text in the table of names.
    fn intern(&mut self, start: usize, end: usize) -> Symbol {
        let text = self.text(start, end);
        let Some(key) = short_key(text) else {
            return self.program.names.intern(text);
        };
        let slot = (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as usize % SHORT_NAME_SLOTS;
        let (cached, symbol) = self.short_names[slot];
        if cached == key {
            return symbol;
        }
        let symbol = self.program.names.intern(text);
        self.short_names[slot] = (key, symbol);
        symbol
    }

    /// The text of the token at `start..end`.
    fn text(&self, start: usize, end: usize) -> &'src str {
        &self.source[start..end]
    }

    pub(crate) fn mark(&mut self) -> Mark {
        self.heights.clear();
        self.item_start = self.program.nodes.len();
        Mark {
            items: self.program.items.len(),
            nodes: self.program.nodes.len(),
            args: self.program.args.len(),
            params: self.program.params.len(),
        }
    }

    /// Forgets what an item that failed to parse left behind (its interned
    /// names stay: they are harmless).
    pub(crate) fn undo(&mut self, mark: Mark) {
        self.program.items.truncate(mark.items);
        self.program.nodes.truncate(mark.nodes);
        self.program.args.truncate(mark.args);
        self.program.params.truncate(mark.params);
        self.operands.clear();
        self.operators.clear();
        self.args.clear();
    }

    /// The item has parsed and its height is known: the heights of its
    /// nodes are no longer needed. A huge item's go back at once (a
    /// million-node item's are 4 MB, which would otherwise stay beside its
    /// tree and IR while it is checked); a small item's room is kept for
    /// the next.
    pub(crate) fn heights_done(&mut self) {
        if self.heights.capacity() > 1 << 16 {
            self.heights = Vec::new();
        } else {
            self.heights.clear();
        }
    }

    /// Drops every item read so far, which the sink has seen: what is
    /// left is the interned names, which later items share.
    pub(crate) fn clear(&mut self) {
        self.program.items.clear();
        self.program.nodes.clear();
        self.program.args.clear();
        self.program.params.clear();
    }

    pub(crate) fn node(&mut self, kind: ExprKind, span: Span) -> NodeId {
        let id = u32::try_from(self.program.nodes.len()).expect("fewer than 2^32 nodes");
        let height = 1 + match kind {
            ExprKind::Int(_) | ExprKind::IntMinMagnitude | ExprKind::Var(_) => 0,
            ExprKind::Call { args, .. } => self.program.args(args).iter().map(|&arg| self.height(arg)).max().unwrap_or(0),
            ExprKind::Unary { operand, .. } => self.height(operand),
            ExprKind::Binary { lhs, rhs, .. } => self.height(lhs).max(self.height(rhs)),
            ExprKind::If {
                cond,
                then_branch,
                else_branch,
            } => self.height(cond).max(self.height(then_branch)).max(self.height(else_branch)),
            ExprKind::Let { value, body, .. } => self.height(value).max(self.height(body)),
        };
        self.heights.push(height);
        self.program.nodes.push(Node::new(kind, span));
        id
    }

    /// The height of node `id` of the item being read: the most nodes on
    /// a path from it down to a leaf.
    pub(crate) fn height(&self, id: NodeId) -> u32 {
        self.heights[id as usize - self.item_start]
    }

    fn span(&self, id: NodeId) -> Span {
        self.program.node(id).span()
    }

    /// The name at `start..end`.
    pub(crate) fn ident(&mut self, start: usize, end: usize) -> Ident {
        Ident {
            name: self.intern(start, end),
            span: Span::new(start, end),
        }
    }

    pub(crate) fn func(&mut self, start: usize, name: Ident, params: List, body: NodeId) -> Item {
        let span = Span::new(start, self.span(body).end);
        Item::Func(FuncDef {
            name,
            params,
            body,
            span,
        })
    }

    /// The item has parsed (the grammar's last action).
    pub(crate) fn item(&mut self, item: Item) {
        self.program.items.push(item);
    }

    /// A definition's parameter list starts with `first`.
    pub(crate) fn first_param(&mut self, first: Ident) -> List {
        self.program.params.push(first);
        List {
            start: offset(self.program.params.len() - 1),
            len: 1,
        }
    }

    /// The parameter list goes on with `next`.
    pub(crate) fn next_param(&mut self, list: List, next: Ident) -> List {
        self.program.params.push(next);
        List {
            len: list.len + 1,
            ..list
        }
    }

    /// An empty parameter list.
    pub(crate) fn no_params(&self) -> List {
        List {
            start: offset(self.program.params.len()),
            len: 0,
        }
    }

    /// The integer literal at `start..end`.
    pub(crate) fn int(&mut self, start: usize, end: usize) -> NodeId {
        let kind = match lexer::int_value(self.text(start, end)) {
            IntLit::Value(value) => ExprKind::Int(value),
            IntLit::MinMagnitude => ExprKind::IntMinMagnitude,
        };
        self.node(kind, Span::new(start, end))
    }

    /// The variable named at `start..end`.
    pub(crate) fn var(&mut self, start: usize, end: usize) -> NodeId {
        let name = self.intern(start, end);
        self.node(ExprKind::Var(name), Span::new(start, end))
    }

    /// The parentheses belong to the expression's span.
    pub(crate) fn parenthesized(&mut self, inner: NodeId, start: usize, end: usize) -> NodeId {
        let node = &mut self.program.nodes[inner as usize];
        *node = Node::new(node.kind, Span::new(start, end));
        inner
    }

    pub(crate) fn unary(&mut self, start: usize, op: UnOp, operand: NodeId) -> NodeId {
        let span = Span::new(start, self.span(operand).end);
        self.node(ExprKind::Unary { op, operand }, span)
    }

    pub(crate) fn if_else(&mut self, start: usize, cond: NodeId, then_branch: NodeId, else_branch: NodeId) -> NodeId {
        let span = Span::new(start, self.span(else_branch).end);
        let kind = ExprKind::If {
            cond,
            then_branch,
            else_branch,
        };
        self.node(kind, span)
    }

    pub(crate) fn let_in(&mut self, start: usize, name: Ident, value: NodeId, body: NodeId) -> NodeId {
        let span = Span::new(start, self.span(body).end);
        let kind = ExprKind::Let {
            name: name.name,
            name_start: offset(name.span.start),
            value,
            body,
        };
        self.node(kind, span)
    }

    /// A call's argument list starts with `first`.
    pub(crate) fn first_arg(&mut self, first: NodeId) -> ArgsStart {
        self.args.push(first);
        offset(self.args.len() - 1)
    }

    pub(crate) fn next_arg(&mut self, next: NodeId) {
        self.args.push(next);
    }

    /// An empty argument list.
    pub(crate) fn no_args(&self) -> ArgsStart {
        offset(self.args.len())
    }

    /// The call of `callee` with the arguments from `args` up, ending at
    /// `end`.
    pub(crate) fn call(&mut self, callee: Ident, args: ArgsStart, end: usize) -> NodeId {
        let list = List {
            start: offset(self.program.args.len()),
            len: offset(self.args.len()) - args,
        };
        self.program.args.extend(self.args.drain(args as usize..));
        let span = Span::new(callee.span.start, end);
        self.node(
            ExprKind::Call {
                callee: callee.name,
                args: list,
            },
            span,
        )
    }

    /// A chain starts with its first operand.
    pub(crate) fn chain_start(&mut self, first: NodeId) -> ChainStart {
        self.operands.push(first);
        offset(self.operators.len())
    }

    /// The chain that started at `start` goes on with `op rhs`, `op`
    /// written at `op_start`. The operators on the stack that bind at
    /// least as tightly as `op` (all operators are left-associative;
    /// comparisons never meet another comparison here) take their operands
    /// first.
    pub(crate) fn chain_push(&mut self, start: ChainStart, op: BinOp, op_start: usize, rhs: NodeId) {
        let level = precedence(op);
        while self.operators.len() > start as usize
            && precedence(self.operators[self.operators.len() - 1].0) >= level
        {
            self.apply_top();
        }
        self.operators.push((op, offset(op_start)));
        self.operands.push(rhs);
    }

    /// The chain that started at `start` has ended: its tree.
    pub(crate) fn chain_finish(&mut self, start: ChainStart) -> NodeId {
        while self.operators.len() > start as usize {
            self.apply_top();
        }
        self.operands.pop().expect("a chain has at least one operand")
    }

    /// Replaces the top two operands by the top operator applied to them.
    fn apply_top(&mut self) {
        let (op, op_start) = self.operators.pop().expect("an operator to apply");
        let rhs = self.operands.pop().expect("a right operand");
        let lhs = self.operands.pop().expect("a left operand");
        let span = self.span(lhs).to(self.span(rhs));
        let kind = ExprKind::Binary {
            op,
            op_start,
            lhs,
            rhs,
        };
        let node = self.node(kind, span);
        self.operands.push(node);
    }
}

/// How tightly `op` binds, the same order as Rust: `||`, `&&`,
/// comparisons, `|`, `^`, `&`, shifts, `+ -`, `* / %`.
fn precedence(op: BinOp) -> u8 {
    match op {
        BinOp::Or => 1,
        BinOp::And => 2,
        BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => 3,
        BinOp::BitOr => 4,
        BinOp::BitXor => 5,
        BinOp::BitAnd => 6,
        BinOp::Shl | BinOp::Shr => 7,
        BinOp::Add | BinOp::Sub => 8,
        BinOp::Mul | BinOp::Div | BinOp::Rem => 9,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_get_the_symbols_of_the_table() {
        // Names of every length around the cache's 8 bytes, more of them
        // than it has slots, each used again in a different order.
        let names: Vec<String> = (0..600)
            .map(|i| match i % 4 {
                0 => format!("v{i}"),
                1 => format!("ab{i:06}"),
                2 => format!("long_name_{i}"),
                _ => "_".repeat(1 + i % 9),
            })
            .collect();
        let source = names.join(" ");
        let mut spans = Vec::new();
        let mut at = 0;
        for name in &names {
            spans.push((at, at + name.len()));
            at += name.len() + 1;
        }
        let mut tree = Tree::new(&source);
        let mut table = crate::ast::Names::default();
        for round in 0..3 {
            for index in 0..names.len() {
                let index = if round == 1 { names.len() - 1 - index } else { index * 7 % names.len() };
                let (start, end) = spans[index];
                assert_eq!(tree.intern(start, end), table.intern(&names[index]), "{}", names[index]);
            }
        }
        assert_eq!(tree.program.names.len(), table.len());
    }
}
