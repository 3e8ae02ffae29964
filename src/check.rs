//! Name resolution and arity checking: turns the parsed [`ast::Program`] into
//! the resolved [`ir::CheckedProgram`], or reports every error it finds.

use std::collections::{HashMap, HashSet};

use crate::ast::{self, ExprKind, Span, UnOp};
use crate::diag::{Diagnostic, ErrorCode};
use crate::ir::{self, FuncId, LocalId};
use crate::suggest;

/// Resolves names and checks arities. On failure returns every error found,
/// in source order. (The pipeline calls [`check_with`].)
#[cfg(test)]
pub fn check(program: &ast::Program) -> Result<ir::CheckedProgram, Vec<Diagnostic>> {
    check_with(program, &[], &[])
}

/// Checks `program` in an environment of functions defined earlier (a REPL
/// session's definitions; their [`FuncId`]s are their indexes). A
/// definition in `program` with the name of an earlier one replaces it and
/// keeps its id, so that earlier callers reach the new one. Changing the
/// number of parameters of a function that an earlier, not redefined
/// function calls is an error.
///
/// `broken` names functions whose definitions did not parse; calls to them
/// are not reported as calls to unknown functions (so that the checker's
/// errors can be reported together with the syntax errors).
///
/// The result holds every function: the environment's (updated), the new
/// ones, then one per top-level expression.
pub fn check_with(
    program: &ast::Program,
    earlier: &[ir::Func],
    broken: &[String],
) -> Result<ir::CheckedProgram, Vec<Diagnostic>> {
    let mut checker = Checker {
        broken: broken.iter().map(String::as_str).collect(),
        next_id: earlier.len(),
        suggestion_budget: SUGGESTION_BUDGET,
        ..Checker::default()
    };
    for (id, func) in earlier.iter().enumerate() {
        checker.signatures.insert(
            &func.name,
            Signature {
                id,
                arity: func.arity,
                name_span: None,
                text: func.signature.clone(),
            },
        );
    }
    let defs: Vec<&ast::FuncDef> = program
        .items
        .iter()
        .filter_map(|item| match item {
            ast::Item::Func(def) => Some(def),
            ast::Item::Expr(_) => None,
        })
        .collect();
    let ids: Vec<Option<FuncId>> = defs.iter().map(|def| checker.declare(def)).collect();
    checker.check_arity_changes(&defs, earlier);

    let mut out = ir::CheckedProgram {
        funcs: earlier.to_vec(),
        ..ir::CheckedProgram::default()
    };
    let mut def_ids = Vec::new();
    for (def, id) in defs.iter().zip(ids) {
        let func = checker.function(def);
        match id {
            Some(id) if id < out.funcs.len() => out.funcs[id] = func,
            Some(_) => out.funcs.push(func),
            None => {} // a duplicate, already reported
        }
        def_ids.extend(id);
    }
    let mut def_ids = def_ids.into_iter();
    for (index, item) in program.items.iter().enumerate() {
        if let ast::Item::Func(_) = item {
            // Duplicates have no id; every other definition takes the next.
            if let Some(id) = def_ids.next() {
                out.items.push(ir::Item::Def(id));
            }
        }
        if let ast::Item::Expr(expr) = item {
            out.items.push(ir::Item::Expr(out.funcs.len()));
            out.top_level.push(out.funcs.len());
            let mut scope = Scope::default();
            let body = checker.expr(expr, &mut scope);
            out.funcs.push(ir::Func {
                name: format!("<top-level expression {}>", index + 1),
                name_span: expr.span,
                signature: String::new(),
                arity: 0,
                locals: scope.count,
                body,
            });
        }
    }
    if checker.errors.is_empty() {
        Ok(out)
    } else {
        checker.errors.sort_by_key(|d| d.span.start);
        Err(checker.errors)
    }
}

/// What the checker knows about a function before checking its body.
struct Signature {
    id: FuncId,
    arity: usize,
    /// Where it is defined, if in the program being checked.
    name_span: Option<Span>,
    /// `name(p1, p2)`, for error messages.
    text: String,
}

#[derive(Default)]
struct Checker<'a> {
    signatures: HashMap<&'a str, Signature>,
    /// Functions defined by items that failed to parse.
    broken: HashSet<&'a str>,
    /// Names defined by the program being checked (not the environment).
    defined_here: HashSet<&'a str>,
    /// The id the next new function gets.
    next_id: FuncId,
    errors: Vec<Diagnostic>,
    /// Character comparisons left for "did you mean" suggestions; see
    /// [`suggest::closest_within`].
    suggestion_budget: u64,
}

/// What a whole check may spend on suggestions: some tens of milliseconds.
const SUGGESTION_BUDGET: u64 = 20_000_000;

/// The variables visible at a point in a function body.
#[derive(Default)]
struct Scope<'a> {
    /// For each name, the locals it has been bound to, innermost last, so a
    /// later `let` shadows earlier names. A map rather than one list so that
    /// a lookup costs the same however many `let`s enclose it.
    visible: HashMap<&'a str, Vec<LocalId>>,
    /// Locals allocated so far in the function.
    count: usize,
}

impl<'a> Scope<'a> {
    fn bind(&mut self, name: &'a str) -> LocalId {
        let id = self.count;
        self.count += 1;
        self.visible.entry(name).or_default().push(id);
        id
    }

    /// Ends the innermost binding of `name`.
    fn unbind(&mut self, name: &str) {
        if let Some(bindings) = self.visible.get_mut(name) {
            bindings.pop();
        }
    }

    /// Every name with a binding in scope.
    fn visible_names(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.visible
            .iter()
            .filter(|(_, bindings)| !bindings.is_empty())
            .map(|(&name, _)| name)
    }

    fn lookup(&self, name: &str) -> Option<LocalId> {
        self.visible.get(name)?.last().copied()
    }
}

impl<'a> Checker<'a> {
    /// Records the signature of `def`; returns its id, or `None` for a
    /// duplicate definition.
    fn declare(&mut self, def: &'a ast::FuncDef) -> Option<FuncId> {
        let name = def.name.name.as_str();
        if !self.defined_here.insert(name) {
            let mut error = Diagnostic::new(
                ErrorCode::DuplicateFunction,
                format!("function '{name}' is defined twice"),
                def.name.span,
            )
            .with_label("defined again here");
            if let Some(first) = self.signatures.get(name).and_then(|s| s.name_span) {
                error = error.with_related(first, "first defined here");
            }
            self.errors.push(error);
            return None;
        }
        let params: Vec<&str> = def.params.iter().map(|p| p.name.as_str()).collect();
        let id = match self.signatures.get(name) {
            Some(earlier) => earlier.id,
            None => {
                self.next_id += 1;
                self.next_id - 1
            }
        };
        let signature = Signature {
            id,
            arity: def.params.len(),
            name_span: Some(def.name.span),
            text: format!("{name}({})", params.join(", ")),
        };
        self.signatures.insert(name, signature);
        Some(id)
    }

    /// Reports redefinitions that change the number of parameters of a
    /// function that an earlier function, not itself redefined, calls.
    fn check_arity_changes(&mut self, defs: &[&'a ast::FuncDef], earlier: &[ir::Func]) {
        for def in defs {
            let Some(&Signature { id, arity, .. }) = self.signatures.get(def.name.name.as_str())
            else {
                continue;
            };
            let Some(old) = earlier.get(id) else {
                continue;
            };
            if old.arity == arity {
                continue;
            }
            let callers: Vec<&str> = earlier
                .iter()
                .filter(|caller| !self.defined_here.contains(caller.name.as_str()))
                .filter(|caller| caller.body.calls(id))
                .map(|caller| caller.name.as_str())
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
                        def.name.name, old.arity, arity
                    ),
                    def.name.span,
                )
                .with_label(format!(
                    "still called with {} by {}",
                    plural(old.arity, "argument"),
                    quoted.join(", ")
                ))
                .with_help(format!(
                    "redefine {} in the same entry, or give the new function another name",
                    quoted.join(", ")
                )),
            );
        }
    }

    fn function(&mut self, def: &'a ast::FuncDef) -> ir::Func {
        let mut scope = Scope::default();
        let mut first_spans: HashMap<&str, Span> = HashMap::new();
        for param in &def.params {
            if let Some(&first) = first_spans.get(param.name.as_str()) {
                self.errors.push(
                    Diagnostic::new(
                        ErrorCode::DuplicateParameter,
                        format!("parameter '{}' is repeated", param.name),
                        param.span,
                    )
                    .with_label("repeated here")
                    .with_related(first, "first declared here"),
                );
            } else {
                first_spans.insert(&param.name, param.span);
            }
            scope.bind(&param.name);
        }
        // Repeated parameters still get their own slot so arity stays right.
        let body = self.expr(&def.body, &mut scope);
        let params: Vec<&str> = def.params.iter().map(|p| p.name.as_str()).collect();
        ir::Func {
            name: def.name.name.clone(),
            name_span: def.name.span,
            signature: format!("{}({})", def.name.name, params.join(", ")),
            arity: def.params.len(),
            locals: scope.count,
            body,
        }
    }

    fn expr(&mut self, expr: &'a ast::Expr, scope: &mut Scope<'a>) -> ir::Expr {
        match &expr.kind {
            ExprKind::Int(value) => ir::Expr::Int(*value),
            ExprKind::IntMinMagnitude => {
                self.errors.push(
                    Diagnostic::new(
                        ErrorCode::LiteralOutOfRange,
                        "integer literal out of range",
                        expr.span,
                    )
                    .with_label("the largest integer is 9223372036854775807")
                    .with_help("only -9223372036854775808 may be written with this magnitude"),
                );
                ir::Expr::Int(0)
            }
            ExprKind::Var(name) => match scope.lookup(name) {
                Some(local) => ir::Expr::Local(local),
                None => {
                    self.unknown_name(name, expr.span, scope);
                    ir::Expr::Int(0)
                }
            },
            ExprKind::Call { callee, args } => {
                let args: Vec<ir::Expr> = args.iter().map(|arg| self.expr(arg, scope)).collect();
                let Some(signature) = self.signatures.get(callee.name.as_str()) else {
                    if self.broken.contains(callee.name.as_str()) {
                        return ir::Expr::Int(0);
                    }
                    self.unknown_function(callee);
                    return ir::Expr::Int(0);
                };
                let id = signature.id;
                if signature.arity != args.len() {
                    self.wrong_arity(expr.span, &callee.name, args.len());
                }
                ir::Expr::Call {
                    func: id,
                    args,
                    span: expr.span,
                }
            }
            ExprKind::Unary {
                op: UnOp::Neg,
                operand,
                ..
            } if operand.kind == ExprKind::IntMinMagnitude => ir::Expr::Int(i64::MIN),
            ExprKind::Unary { op, operand, .. } => ir::Expr::Unary {
                op: *op,
                operand: Box::new(self.expr(operand, scope)),
            },
            ExprKind::Binary {
                op,
                op_span,
                lhs,
                rhs,
            } => ir::Expr::Binary {
                op: *op,
                op_span: *op_span,
                lhs: Box::new(self.expr(lhs, scope)),
                rhs: Box::new(self.expr(rhs, scope)),
            },
            ExprKind::If {
                cond,
                then_branch,
                else_branch,
            } => ir::Expr::If {
                cond: Box::new(self.expr(cond, scope)),
                then_branch: Box::new(self.expr(then_branch, scope)),
                else_branch: Box::new(self.expr(else_branch, scope)),
                span: expr.span,
            },
            ExprKind::Let { name, value, body } => {
                // The bound value is checked before the name is in scope.
                let value = Box::new(self.expr(value, scope));
                let local = scope.bind(&name.name);
                let body = Box::new(self.expr(body, scope));
                scope.unbind(&name.name);
                ir::Expr::Let { local, value, body }
            }
        }
    }
    // The error reports below live outside `expr`, which recurses once per
    // nesting level: keeping their locals out of its frame keeps deep
    // programs within the compiler's stack.

    #[cold]
    #[inline(never)]
    fn unknown_name(&mut self, name: &str, span: Span, scope: &Scope<'a>) {
        let mut error = Diagnostic::new(
            ErrorCode::UnknownName,
            format!("unknown name '{name}'"),
            span,
        )
        .with_label("not a parameter or let binding in scope");
        if let Some(signature) = self.signatures.get(name) {
            error = error.with_help(format!(
                "'{name}' is a function; call it as {}",
                signature.text
            ));
        } else if let Some(near) =
            suggest::closest_within(name, scope.visible_names(), &mut self.suggestion_budget)
        {
            error = error.with_help(format!("did you mean '{near}'?"));
        }
        self.errors.push(error);
    }

    #[cold]
    #[inline(never)]
    fn unknown_function(&mut self, callee: &ast::Ident) {
        let mut error = Diagnostic::new(
            ErrorCode::UnknownFunction,
            format!("unknown function '{}'", callee.name),
            callee.span,
        )
        .with_label("no function of this name is defined");
        let known = self.signatures.keys().chain(&self.broken).copied();
        if let Some(near) =
            suggest::closest_within(&callee.name, known, &mut self.suggestion_budget)
        {
            error = error.with_help(format!("did you mean '{near}'?"));
        }
        self.errors.push(error);
    }

    /// A call at `span` passes `given` arguments to `name`, whose signature
    /// is known and takes a different number.
    #[cold]
    #[inline(never)]
    fn wrong_arity(&mut self, span: Span, name: &str, given: usize) {
        let signature = &self.signatures[name];
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
        error = match signature.name_span {
            Some(defined) => {
                error.with_related(defined, format!("defined here as {}", signature.text))
            }
            None => error.with_help(format!("it is defined as {}", signature.text)),
        };
        self.errors.push(error);
    }
}

fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}
