//! Name resolution and arity checking: turns the parsed [`ast::Program`] into
//! the resolved [`ir::Program`], or reports every error it finds.

use std::collections::{HashMap, HashSet};

use crate::ast::{self, ExprKind, Span, UnOp};
use crate::diag::Diagnostic;
use crate::ir::{self, FuncId, LocalId};

/// Resolves names and checks arities. On failure returns every error found,
/// in source order.
pub fn check(program: &ast::Program) -> Result<ir::Program, Vec<Diagnostic>> {
    check_assuming(program, &[])
}

/// Like [`check`], for a program some of whose definitions did not parse:
/// `broken` names those functions, and calls to them are not reported as
/// calls to unknown functions. Used to report the checker's errors together
/// with the syntax errors.
pub fn check_assuming(
    program: &ast::Program,
    broken: &[String],
) -> Result<ir::Program, Vec<Diagnostic>> {
    let mut checker = Checker {
        broken: broken.iter().map(String::as_str).collect(),
        ..Checker::default()
    };
    let funcs = program.items.iter().filter_map(|item| match item {
        ast::Item::Func(def) => Some(def),
        ast::Item::Expr(_) => None,
    });
    for def in funcs.clone() {
        checker.declare(def);
    }
    let mut out = ir::Program::default();
    for def in funcs {
        out.funcs.push(checker.function(def));
    }
    for (index, item) in program.items.iter().enumerate() {
        if let ast::Item::Expr(expr) = item {
            out.top_level.push(out.funcs.len());
            let mut scope = Scope::default();
            let body = checker.expr(expr, &mut scope);
            out.funcs.push(ir::Func {
                name: format!("<top-level expression {}>", index + 1),
                name_span: expr.span,
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
    name_span: Span,
    /// `name(p1, p2)`, for error messages.
    text: String,
}

#[derive(Default)]
struct Checker<'a> {
    signatures: HashMap<&'a str, Signature>,
    /// Functions defined by items that failed to parse.
    broken: HashSet<&'a str>,
    errors: Vec<Diagnostic>,
}

/// The variables visible at a point in a function body.
#[derive(Default)]
struct Scope<'a> {
    /// Innermost last, so a later `let` shadows earlier names.
    visible: Vec<(&'a str, LocalId)>,
    /// Locals allocated so far in the function.
    count: usize,
}

impl<'a> Scope<'a> {
    fn bind(&mut self, name: &'a str) -> LocalId {
        let id = self.count;
        self.count += 1;
        self.visible.push((name, id));
        id
    }

    fn lookup(&self, name: &str) -> Option<LocalId> {
        self.visible
            .iter()
            .rev()
            .find(|(visible, _)| *visible == name)
            .map(|&(_, id)| id)
    }
}

impl<'a> Checker<'a> {
    fn declare(&mut self, def: &'a ast::FuncDef) {
        let name = def.name.name.as_str();
        if let Some(first) = self.signatures.get(name) {
            self.errors.push(
                Diagnostic::error(format!("function '{name}' is defined twice"), def.name.span)
                    .with_label("defined again here")
                    .with_related(first.name_span, "first defined here"),
            );
            return;
        }
        let params: Vec<&str> = def.params.iter().map(|p| p.name.as_str()).collect();
        let signature = Signature {
            id: self.signatures.len(),
            arity: def.params.len(),
            name_span: def.name.span,
            text: format!("{name}({})", params.join(", ")),
        };
        self.signatures.insert(name, signature);
    }

    fn function(&mut self, def: &'a ast::FuncDef) -> ir::Func {
        let mut scope = Scope::default();
        for (index, param) in def.params.iter().enumerate() {
            if let Some(first) = def.params[..index].iter().find(|p| p.name == param.name) {
                self.errors.push(
                    Diagnostic::error(
                        format!("parameter '{}' is repeated", param.name),
                        param.span,
                    )
                    .with_label("repeated here")
                    .with_related(first.span, "first declared here"),
                );
            }
            scope.bind(&param.name);
        }
        // Repeated parameters still get their own slot so arity stays right.
        let body = self.expr(&def.body, &mut scope);
        ir::Func {
            name: def.name.name.clone(),
            name_span: def.name.span,
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
                    Diagnostic::error("integer literal out of range", expr.span)
                        .with_label("the largest integer is 9223372036854775807")
                        .with_help("only -9223372036854775808 may be written with this magnitude"),
                );
                ir::Expr::Int(0)
            }
            ExprKind::Var(name) => match scope.lookup(name) {
                Some(local) => ir::Expr::Local(local),
                None => {
                    let mut error = Diagnostic::error(format!("unknown name '{name}'"), expr.span)
                        .with_label("not a parameter or let binding in scope");
                    if let Some(signature) = self.signatures.get(name.as_str()) {
                        error = error.with_help(format!(
                            "'{name}' is a function; call it as {}",
                            signature.text
                        ));
                    }
                    self.errors.push(error);
                    ir::Expr::Int(0)
                }
            },
            ExprKind::Call { callee, args } => {
                let args: Vec<ir::Expr> = args.iter().map(|arg| self.expr(arg, scope)).collect();
                let Some(signature) = self.signatures.get(callee.name.as_str()) else {
                    if self.broken.contains(callee.name.as_str()) {
                        return ir::Expr::Int(0);
                    }
                    self.errors.push(
                        Diagnostic::error(
                            format!("unknown function '{}'", callee.name),
                            callee.span,
                        )
                        .with_label("no function of this name is defined"),
                    );
                    return ir::Expr::Int(0);
                };
                if signature.arity != args.len() {
                    self.errors.push(
                        Diagnostic::error(
                            format!(
                                "function '{}' takes {} but {} {} given",
                                callee.name,
                                plural(signature.arity, "argument"),
                                args.len(),
                                if args.len() == 1 { "was" } else { "were" }
                            ),
                            expr.span,
                        )
                        .with_label(format!("expected {}", plural(signature.arity, "argument")))
                        .with_related(
                            signature.name_span,
                            format!("defined here as {}", signature.text),
                        ),
                    );
                }
                ir::Expr::Call {
                    func: signature.id,
                    args,
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
            },
            ExprKind::Let { name, value, body } => {
                // The bound value is checked before the name is in scope.
                let value = Box::new(self.expr(value, scope));
                let local = scope.bind(&name.name);
                let body = Box::new(self.expr(body, scope));
                scope.visible.pop();
                ir::Expr::Let { local, value, body }
            }
        }
    }
}

fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}
