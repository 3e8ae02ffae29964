//! Name resolution and arity checking: turns the parsed [`ast::Program`] into
//! the resolved [`ir::CheckedProgram`], or reports every error it finds.

use crate::ast::{self, ExprKind, NodeId, Span, Symbol, UnOp};
use crate::diag::{Diagnostic, Diagnostics, ErrorCode};
use crate::ir::{self, FuncId, GlobalId, LocalId};
use crate::suggest;

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
/// The result holds the program's definitions (with [`FuncId`]s in
/// definition order, so that without an environment a function's
/// [`GlobalId`] is its [`FuncId`]), one function per top-level expression,
/// and a declaration ([`ir::Link::External`]) for each function of the
/// environment that the program calls.
pub fn check_with(
    program: &ast::Program,
    env: &dyn Environment,
    broken: &[String],
) -> Result<ir::CheckedProgram, Diagnostics> {
    let symbols = program.names.len();
    let mut checker = Checker {
        program,
        env,
        broken_names: broken,
        signatures: vec![None; symbols],
        earlier: vec![None; symbols],
        broken: vec![false; symbols],
        defined_here: vec![false; symbols],
        bindings: vec![NO_BINDING; symbols],
        shadowed: Vec::new(),
        next_id: env.next_id(),
        in_definition: false,
        out: ir::CheckedProgram::default(),
        errors: Diagnostics::new(),
        suggestion_budget: SUGGESTION_BUDGET,
        body: ir::Body::default(),
        spine: Vec::new(),
        pending_args: Vec::new(),
    };
    // Only the names this program writes can meet an earlier definition.
    for (symbol, name) in program.names.iter().enumerate() {
        if let Some(known) = env.lookup(name) {
            checker.signatures[symbol] = Some(Signature {
                id: known.id,
                local: None,
                arity: known.arity,
                defined: match known.signature {
                    Some(_) => Defined::Earlier,
                    None => Defined::Called,
                },
            });
            checker.earlier[symbol] = Some(known);
        }
    }
    for name in broken {
        if let Some(symbol) = program.names.get(name) {
            checker.broken[symbol as usize] = true;
        }
    }
    let sizes = node_counts(program);
    let defs: Vec<ast::FuncDef> = program
        .items
        .iter()
        .filter_map(|item| match item {
            ast::Item::Func(def) => Some(*def),
            ast::Item::Expr(_) => None,
        })
        .collect();
    let def_sizes = program
        .items
        .iter()
        .zip(&sizes)
        .filter(|(item, _)| matches!(item, ast::Item::Func(_)))
        .map(|(_, &size)| size);
    let locals: Vec<Option<FuncId>> = defs.iter().map(|def| checker.declare(def)).collect();
    checker.check_arity_changes(&defs);

    checker.in_definition = true;
    for ((def, local), size) in defs.iter().zip(&locals).zip(def_sizes) {
        let func = checker.function(def, size);
        if let Some(local) = *local {
            checker.out.funcs[local] = func;
        }
    }
    checker.in_definition = false;
    let mut def_locals = locals.into_iter().flatten();
    for (index, item) in program.items.iter().enumerate() {
        if let ast::Item::Func(_) = item {
            // Duplicates have no id; every other definition takes the next.
            if let Some(local) = def_locals.next() {
                checker.out.items.push(ir::Item::Def(local));
            }
        }
        if let &ast::Item::Expr(expr) = item {
            let mut locals = 0;
            let body = checker.body(expr, &mut locals, sizes[index]);
            let out = &mut checker.out;
            out.items.push(ir::Item::Expr(out.funcs.len()));
            out.top_level.push(out.funcs.len());
            out.funcs.push(ir::Func {
                name: format!("<top-level expression {}>", index + 1),
                name_span: program.node(expr).span(),
                signature: String::new(),
                arity: 0,
                locals,
                body,
                link: ir::Link::TopLevel,
                def_span: Span::default(),
            });
        }
    }
    if checker.errors.is_empty() {
        Ok(checker.out)
    } else {
        Err(checker.errors)
    }
}

/// What the checker knows about a function before checking its body.
#[derive(Copy, Clone)]
struct Signature {
    id: GlobalId,
    /// Its index in the checked program, once it has one: a definition's
    /// from the start, an earlier entry's function's from its first call.
    local: Option<FuncId>,
    arity: usize,
    defined: Defined,
}

/// Where a function is defined.
#[derive(Copy, Clone)]
enum Defined {
    /// In the environment (`Checker::earlier`).
    Earlier,
    /// Nowhere yet: called by a definition of the environment or of this
    /// program, with `arity` arguments, as a forward reference.
    Called,
    /// In the program being checked.
    Here(ast::FuncDef),
}

/// `bindings` of a name bound to nothing.
const NO_BINDING: u32 = u32::MAX;

struct Checker<'a> {
    program: &'a ast::Program,
    env: &'a dyn Environment,
    /// Indexed by symbol: what the environment has of that name.
    earlier: Vec<Option<Known>>,
    broken_names: &'a [String],
    /// Indexed by symbol: the function of that name, if any.
    signatures: Vec<Option<Signature>>,
    /// Indexed by symbol: functions defined by items that failed to parse.
    broken: Vec<bool>,
    /// Indexed by symbol: names defined by the program being checked (not
    /// the environment).
    defined_here: Vec<bool>,
    /// Indexed by symbol: the local a variable name is bound to in the
    /// function being checked, innermost binding, or [`NO_BINDING`]. Arrays
    /// rather than maps, so a lookup costs the same however many `let`s
    /// enclose it and nothing is hashed.
    bindings: Vec<u32>,
    /// The bindings that the ones in force replaced, innermost last, to
    /// restore when they end.
    shadowed: Vec<(Symbol, u32)>,
    /// The id the next new function gets.
    next_id: GlobalId,
    /// Checking a definition's body (where a REPL allows calls to
    /// functions defined nowhere yet), not a top-level expression.
    in_definition: bool,
    /// The checked program so far.
    out: ir::CheckedProgram,
    /// The first hundred errors in source order, and a count of the rest.
    errors: Diagnostics,
    /// Character comparisons left for "did you mean" suggestions; see
    /// [`suggest::closest_within`].
    suggestion_budget: u64,
    /// The body being built.
    body: ir::Body,
    /// The operators of the left spines of the operator chains being
    /// checked, innermost last (see [`Checker::binary_chain`]).
    spine: Vec<NodeId>,
    /// The checked arguments of the calls being checked, innermost last.
    pending_args: Vec<ir::NodeId>,
}

/// What a whole check may spend on suggestions: some tens of milliseconds.
const SUGGESTION_BUDGET: u64 = 20_000_000;

impl<'a> Checker<'a> {
    fn name(&self, symbol: Symbol) -> &'a str {
        &self.program.names[symbol]
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

    /// Every name with a binding in scope.
    fn visible_names(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.shadowed.iter().map(|&(name, _)| self.name(name))
    }

    /// `name(p1, p2)`, as function `symbol` was declared (`name(_, _)` for
    /// one only called so far).
    fn signature_text(&self, symbol: Symbol) -> String {
        let Some(signature) = self.signatures[symbol as usize] else {
            return String::new();
        };
        match signature.defined {
            Defined::Here(def) => self.declared(&def),
            // Only called so far: the parameters have no names yet.
            Defined::Earlier | Defined::Called => match &self.earlier[symbol as usize] {
                Some(Known {
                    signature: Some(text),
                    ..
                }) => text.clone(),
                _ => format!(
                    "{}({})",
                    self.name(symbol),
                    vec!["_"; signature.arity].join(", ")
                ),
            },
        }
    }

    /// `name(p1, p2)` of a definition in the program.
    fn declared(&self, def: &ast::FuncDef) -> String {
        let mut text = format!("{}(", self.name(def.name.name));
        for (index, param) in self.program.params(def).iter().enumerate() {
            if index > 0 {
                text.push_str(", ");
            }
            text.push_str(self.name(param.name));
        }
        text.push(')');
        text
    }

    /// Records the signature of `def`; returns its id, or `None` for a
    /// duplicate definition.
    fn declare(&mut self, def: &ast::FuncDef) -> Option<FuncId> {
        let symbol = def.name.name as usize;
        if std::mem::replace(&mut self.defined_here[symbol], true) {
            let name = self.name(def.name.name);
            let mut error = Diagnostic::new(
                ErrorCode::DuplicateFunction,
                format!("function '{name}' is defined twice"),
                def.name.span,
            )
            .with_label("defined again here");
            if let Some(Signature {
                defined: Defined::Here(first),
                ..
            }) = self.signatures[symbol]
            {
                error = error.with_related(first.name.span, "first defined here");
            }
            self.errors.push(error);
            return None;
        }
        let id = match self.signatures[symbol] {
            Some(earlier) => earlier.id,
            None => self.new_id(),
        };
        let local = self.out.funcs.len();
        // A placeholder until the body is checked, so that calls can name
        // the function by its index before then.
        self.out.funcs.push(ir::Func {
            name: String::new(),
            name_span: def.name.span,
            signature: String::new(),
            arity: def.params.len as usize,
            locals: 0,
            body: ir::Body::leaf(ir::Node::Int(0)),
            link: ir::Link::Defined(id),
            def_span: Span::default(),
        });
        self.signatures[symbol] = Some(Signature {
            id,
            local: Some(local),
            arity: def.params.len as usize,
            defined: Defined::Here(*def),
        });
        Some(local)
    }

    fn new_id(&mut self) -> GlobalId {
        self.next_id += 1;
        self.next_id - 1
    }

    /// The index in the checked program of the function `symbol` names,
    /// declaring it as [`ir::Link::External`] on the first call if it
    /// belongs to the environment (or to nothing yet).
    fn local_of(&mut self, symbol: Symbol) -> FuncId {
        let signature = self.signatures[symbol as usize]
            .as_mut()
            .expect("called functions have a signature");
        if let Some(local) = signature.local {
            return local;
        }
        let local = self.out.funcs.len();
        signature.local = Some(local);
        let (id, arity) = (signature.id, signature.arity);
        let name = self.name(symbol);
        let text = self.signature_text(symbol);
        self.out.funcs.push(ir::Func {
            name: name.to_owned(),
            name_span: Span::default(),
            signature: text,
            arity,
            locals: 0,
            body: ir::Body::leaf(ir::Node::Int(0)),
            link: ir::Link::External(id),
            def_span: Span::default(),
        });
        local
    }

    /// Reports redefinitions that change the number of parameters of a
    /// function that an earlier function, not itself redefined, calls.
    fn check_arity_changes(&mut self, defs: &[ast::FuncDef]) {
        for def in defs {
            let symbol = def.name.name as usize;
            let (Some(Signature { id, arity, .. }), Some(old)) =
                (self.signatures[symbol], &self.earlier[symbol])
            else {
                continue;
            };
            if old.arity == arity {
                continue;
            }
            let old_arity = old.arity;
            let redefined = |name: &str| {
                self.program
                    .names
                    .get(name)
                    .is_some_and(|symbol| self.defined_here[symbol as usize])
            };
            let callers: Vec<String> = self
                .env
                .callers(id)
                .into_iter()
                .filter(|caller| !redefined(caller))
                .collect();
            if callers.is_empty() {
                continue;
            }
            let quoted: Vec<String> = callers.iter().map(|c| format!("'{c}'")).collect();
            self.errors.push(
                Diagnostic::new(
                    ErrorCode::ArityChange,
                    format!(
                        "cannot change the number of parameters of '{}' from {} to {}",
                        self.name(def.name.name),
                        old_arity,
                        arity
                    ),
                    def.name.span,
                )
                .with_label(format!(
                    "still called with {} by {}",
                    plural(old_arity, "argument"),
                    quoted.join(", ")
                ))
                .with_help(format!(
                    "redefine {} in the same entry, or give the new function another name",
                    quoted.join(", ")
                )),
            );
        }
    }

    fn function(&mut self, def: &ast::FuncDef, size: usize) -> ir::Func {
        let mut locals = 0;
        let params = self.program.params(def);
        let outer = self.shadowed.len();
        for (index, param) in params.iter().enumerate() {
            // Bindings end with the function, so a parameter name bound
            // already is a repeated one.
            if self.bindings[param.name as usize] != NO_BINDING {
                let first = params[..index]
                    .iter()
                    .find(|earlier| earlier.name == param.name)
                    .map_or(param.span, |earlier| earlier.span);
                self.repeated_parameter(param, first);
            }
            // Repeated parameters still get their own slot so arity stays
            // right; the last one is in scope.
            self.bind(param.name, &mut locals);
        }
        let body = self.body(def.body, &mut locals, size);
        while self.shadowed.len() > outer {
            self.unbind();
        }
        ir::Func {
            name: self.name(def.name.name).to_owned(),
            name_span: def.name.span,
            signature: self.declared(def),
            arity: params.len(),
            locals,
            body,
            link: self.out.funcs[self.signatures[def.name.name as usize]
                .and_then(|s| s.local)
                .expect("a declared function has an index")]
            .link,
            def_span: Span::new(def.name.span.start, self.program.node(def.body).span().end),
        }
    }

    /// Checks the expression `root`, of at most `size` nodes, into a body
    /// of its own.
    fn body(&mut self, root: NodeId, locals: &mut usize, size: usize) -> ir::Body {
        self.body = ir::Body::with_capacity(size);
        self.expr(root, locals);
        let mut body = std::mem::take(&mut self.body);
        body.shrink_to_fit();
        body
    }

    /// Checks `id` into [`Checker::body`]; returns its node, the last one
    /// pushed.
    fn expr(&mut self, id: NodeId, locals: &mut usize) -> ir::NodeId {
        let node = self.program.node(id);
        let checked = match node.kind {
            ExprKind::Int(value) => ir::Node::Int(value),
            ExprKind::IntMinMagnitude => {
                self.min_magnitude(node.span());
                ir::Node::Int(0)
            }
            ExprKind::Var(name) => match self.bindings[name as usize] {
                NO_BINDING => {
                    self.unknown_name(name, node.span());
                    ir::Node::Int(0)
                }
                local => ir::Node::Local(local),
            },
            ExprKind::Call { callee, args } => {
                let first = self.pending_args.len();
                for &arg in self.program.args(args) {
                    let arg = self.expr(arg, locals);
                    self.pending_args.push(arg);
                }
                let given = self.pending_args.len() - first;
                if self.signatures[callee as usize].is_none() {
                    let forward = self.in_definition && self.env.forward_references();
                    if self.broken[callee as usize] || !forward {
                        self.pending_args.truncate(first);
                        if !self.broken[callee as usize] {
                            self.unknown_function(callee, self.program.callee_span(node, callee));
                        }
                        return self.body.push(ir::Node::Int(0));
                    }
                    // A REPL definition may call a function a later entry
                    // defines; its first call fixes the number of arguments.
                    let id = self.new_id();
                    self.signatures[callee as usize] = Some(Signature {
                        id,
                        local: None,
                        arity: given,
                        defined: Defined::Called,
                    });
                }
                let signature = self.signatures[callee as usize].expect("declared above");
                if signature.arity != given {
                    self.wrong_arity(node.span(), callee, given);
                }
                let local = self.local_of(callee);
                let call = self
                    .body
                    .push_call(local, &self.pending_args[first..], node.span());
                self.pending_args.truncate(first);
                return call;
            }
            ExprKind::Unary {
                op: UnOp::Neg,
                operand,
            } if self.program.node(operand).kind == ExprKind::IntMinMagnitude => {
                ir::Node::Int(i64::MIN)
            }
            ExprKind::Unary { op, operand } => ir::Node::Unary {
                op,
                operand: self.expr(operand, locals),
            },
            ExprKind::Binary { .. } => return self.binary_chain(id, locals),
            ExprKind::If {
                cond,
                then_branch,
                else_branch,
            } => ir::Node::If {
                cond: self.expr(cond, locals),
                then_branch: self.expr(then_branch, locals),
                else_branch: self.expr(else_branch, locals),
                span: node.span().into(),
            },
            ExprKind::Let {
                name, value, body, ..
            } => {
                // The bound value is checked before the name is in scope.
                let value = self.expr(value, locals);
                let local = self.bind(name, locals);
                let body = self.expr(body, locals);
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
    fn binary_chain(&mut self, top: NodeId, locals: &mut usize) -> ir::NodeId {
        let outer = self.spine.len();
        let mut id = top;
        while let ExprKind::Binary { lhs, .. } = self.program.node(id).kind {
            self.spine.push(id);
            id = lhs;
        }
        let mut left = self.expr(id, locals);
        while self.spine.len() > outer {
            let id = self.spine.pop().expect("above outer");
            let ExprKind::Binary {
                op, op_start, rhs, ..
            } = self.program.node(id).kind
            else {
                unreachable!("the spine holds binary operations")
            };
            let rhs = self.expr(rhs, locals);
            left = self.body.push(ir::Node::Binary {
                op,
                op_span: ExprKind::binary_op_span(op, op_start).into(),
                lhs: left,
                rhs,
            });
        }
        left
    }

    // The error reports below live outside `expr`, which recurses once per
    // nesting level: keeping their locals out of its frame keeps deep
    // programs within the compiler's stack.

    #[cold]
    #[inline(never)]
    fn repeated_parameter(&mut self, param: &ast::Ident, first: Span) {
        self.errors.push(
            Diagnostic::new(
                ErrorCode::DuplicateParameter,
                format!("parameter '{}' is repeated", self.name(param.name)),
                param.span,
            )
            .with_label("repeated here")
            .with_related(first, "first declared here"),
        );
    }

    #[cold]
    #[inline(never)]
    fn min_magnitude(&mut self, span: Span) {
        self.errors.push(
            Diagnostic::new(
                ErrorCode::LiteralOutOfRange,
                "integer literal out of range",
                span,
            )
            .with_label("the largest integer is 9223372036854775807")
            .with_help("only -9223372036854775808 may be written with this magnitude"),
        );
    }

    #[cold]
    #[inline(never)]
    fn unknown_name(&mut self, symbol: Symbol, span: Span) {
        let name = self.name(symbol);
        let mut error = Diagnostic::new(
            ErrorCode::UnknownName,
            format!("unknown name '{name}'"),
            span,
        )
        .with_label("not a parameter or let binding in scope");
        if self.signatures[symbol as usize].is_some() {
            error = error.with_help(format!(
                "'{name}' is a function; call it as {}",
                self.signature_text(symbol)
            ));
        } else {
            let mut budget = self.suggestion_budget;
            if let Some(near) = suggest::closest_within(name, self.visible_names(), &mut budget) {
                error = error.with_help(format!("did you mean '{near}'?"));
            }
            self.suggestion_budget = budget;
        }
        self.errors.push(error);
    }

    /// Every function name known: the program's, the environment's and
    /// the broken definitions'.
    fn known_functions(&self) -> impl Iterator<Item = String> + '_ {
        let here = (0..self.signatures.len())
            .filter(|&symbol| self.signatures[symbol].is_some() || self.broken[symbol])
            .map(|symbol| self.name(symbol as Symbol));
        let program = self.program;
        let elsewhere = self
            .env
            .names()
            .into_iter()
            .chain(self.broken_names.iter().cloned())
            .filter(move |name| program.names.get(name).is_none());
        here.map(str::to_owned).chain(elsewhere)
    }

    #[cold]
    #[inline(never)]
    fn unknown_function(&mut self, callee: Symbol, span: Span) {
        let name = self.name(callee);
        let mut error = Diagnostic::new(
            ErrorCode::UnknownFunction,
            format!("unknown function '{name}'"),
            span,
        )
        .with_label("no function of this name is defined");
        let mut budget = self.suggestion_budget;
        let known: Vec<String> = self.known_functions().collect();
        if let Some(near) = suggest::closest_within(name, known.iter().map(String::as_str), &mut budget) {
            error = error.with_help(format!("did you mean '{near}'?"));
        }
        self.suggestion_budget = budget;
        self.errors.push(error);
    }

    /// A call at `span` passes `given` arguments to `name`, whose signature
    /// is known and takes a different number.
    #[cold]
    #[inline(never)]
    fn wrong_arity(&mut self, span: Span, callee: Symbol, given: usize) {
        let name = self.name(callee);
        let Some(signature) = self.signatures[callee as usize] else {
            return;
        };
        let text = self.signature_text(callee);
        let mut error = Diagnostic::new(
            ErrorCode::WrongArity,
            format!(
                "function '{name}' takes {} but {given} {} given",
                plural(signature.arity, "argument"),
                if given == 1 { "was" } else { "were" }
            ),
            span,
        )
        .with_label(format!("expected {}", plural(signature.arity, "argument")));
        error = match signature.defined {
            Defined::Here(def) => {
                error.with_related(def.name.span, format!("defined here as {text}"))
            }
            Defined::Earlier => error.with_help(format!("it is defined as {text}")),
            Defined::Called => error.with_help(format!(
                "'{name}' is not defined yet; its first call passes {}",
                plural(signature.arity, "argument")
            )),
        };
        self.errors.push(error);
    }
}

/// For each item, the nodes the parser pushed for it (those after the
/// previous item's root, up to its own): the IR of the item has at most as
/// many, so its body can be allocated once at the size it needs. (A
/// capacity hint only: nodes of items that did not parse make it larger.)
fn node_counts(program: &ast::Program) -> Vec<usize> {
    let mut next = 0;
    program
        .items
        .iter()
        .map(|item| {
            let root = match item {
                ast::Item::Func(def) => def.body,
                ast::Item::Expr(expr) => *expr,
            };
            let count = (root + 1).saturating_sub(next);
            next = next.max(root + 1);
            count as usize
        })
        .collect()
}

fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}
