//! From a raw tree to source text: the one place that gives a
//! [`RawProgram`] its meaning (see the crate documentation for why every
//! tree is valid and terminates).

use std::fmt::Write as _;

use crate::backends::{BINARY_OPS, UNARY_OPS};
use crate::edges::EDGES;
use crate::raw::{RawExpr, RawFunc, RawProgram, Shape};

/// Functions rendered; later raw functions are dropped.
pub const MAX_FUNCS: usize = 6;

/// Parameters a function may have: more than the six argument registers,
/// so that calls pass arguments on the stack.
pub const MAX_PARAMS: usize = 8;

/// The most parameters of a [`Shape::WideLoop`] (which has at least 7):
/// the most of any rendered function, five of them on the stack.
pub const MAX_WIDE_PARAMS: usize = 11;

/// Top-level expressions rendered; later ones are dropped.
pub const MAX_TOP_LEVEL: usize = 4;

/// Nesting depth of a rendered expression, in nodes: a raw subtree that
/// would go deeper is cut to a constant (only `arbitrary` draws trees this
/// deep).
pub const MAX_DEPTH: usize = 12;

/// How many calls one invocation of a generated function or one top-level
/// expression may make, counting the calls of its callees. Keeps the
/// slowest case in the low milliseconds.
pub const CALL_BUDGET: u64 = 20_000;

/// The bound `B` of a [`Shape::Recursive`] function: at most this many
/// nested levels.
pub const RECURSION_BOUND: i64 = 4;

/// The bound `B` of a [`Shape::Loop`] function: at most this many
/// iterations.
pub const LOOP_BOUND: i64 = 500;

/// Levels of a [`Shape::Helper`]'s body: small enough (with its division)
/// for the code generator's inlining bound.
pub const HELPER_DEPTH: usize = 3;

/// Self-call sites a recursive step may have (more would make the call
/// tree grow too fast); further self-calls go to other functions.
pub const MAX_SELF_CALLS: u64 = 2;

/// Renders `program` as source text: functions `f0, f1, ...` with
/// parameters `p0, p1, ...`, `let` bindings `v0, v1, ...`, then the
/// top-level expressions, one item per line. Every raw program gives a
/// valid program in which every call terminates within [`CALL_BUDGET`]
/// calls.
pub fn render(program: &RawProgram) -> String {
    let funcs = program.rendered_funcs();
    // From the last function back, so that callees' costs are known.
    let mut later: Vec<Callee> = Vec::new();
    let mut defs = Vec::with_capacity(funcs.len());
    for (index, func) in funcs.iter().enumerate().rev() {
        let (text, callee) = render_func(index, func, &later);
        defs.push(text);
        later.insert(0, callee);
    }
    defs.reverse();
    let mut source = defs.join("\n");
    let mut top_level = &program.top_level[..program.top_level.len().min(MAX_TOP_LEVEL)];
    // Without top-level expressions, each function is called once, with a
    // first argument that is -1 modulo both bounds, so that the recursive
    // shapes go through all their levels.
    let deepest = RECURSION_BOUND * LOOP_BOUND - 1;
    let calls: Vec<RawExpr> = (0..funcs.len() as u8)
        .map(|index| RawExpr::Call(index, vec![RawExpr::Const(deepest)]))
        .collect();
    if top_level.is_empty() {
        top_level = &calls;
    }
    for expr in top_level {
        let mut scope = Scope::new(Vec::new(), &later, CALL_BUDGET);
        let _ = write!(source, "\n{}", scope.render(expr));
    }
    if top_level.is_empty() {
        source.push_str("\n0");
    }
    source.push('\n');
    if source.starts_with('\n') {
        source.remove(0);
    }
    source
}

/// A function a call may go to.
#[derive(Clone, Debug)]
struct Callee {
    name: String,
    params: usize,
    /// Worst-case calls per invocation, itself included.
    cost: u64,
}

/// Renders function `index` of a program, given the functions after it;
/// returns its definition and what a call to it costs.
///
/// Each shape's arm must keep the renderer's promises: the function calls
/// only `later` functions and, with a strictly decreasing bound, itself;
/// and the cost returned bounds the calls of one invocation.
fn render_func(index: usize, func: &RawFunc, later: &[Callee]) -> (String, Callee) {
    let name = format!("f{index}");
    let params = func.param_count();
    let param_names: Vec<String> = (0..params).map(|p| format!("p{p}")).collect();
    let header = format!("fn {name}({}) = ", param_names.join(", "));
    let (text, cost) = match func.shape {
        Shape::Plain => {
            let mut scope = Scope::new(param_names, later, CALL_BUDGET - 1);
            let body = scope.render(&func.body);
            (header + &body, 1 + scope.spent())
        }
        Shape::Recursive => {
            // At most 1 + s + s^2 + ... invocations for s self-call sites,
            // over the levels the bound allows.
            let invocations: u64 = (0..RECURSION_BOUND as u32)
                .map(|level| MAX_SELF_CALLS.pow(level))
                .sum();
            let mut scope = Scope::new(param_names, later, CALL_BUDGET / invocations - 1);
            let base = scope.render(&func.body);
            let bound = format!("(p0 % {RECURSION_BOUND})");
            scope.self_call = Some(SelfCall {
                callee: Callee {
                    name: name.clone(),
                    params,
                    cost: 0,
                },
                first_arg: format!("({bound} - 1)"),
                sites_left: MAX_SELF_CALLS,
            });
            let step = scope.render(func.step.first().unwrap_or(&func.body));
            let text = format!("{header}if {bound} <= 0 then {base} else {step}");
            (text, invocations * (1 + scope.spent()))
        }
        Shape::Loop | Shape::WideLoop | Shape::Accumulating => {
            let mut scope = Scope::new(param_names, later, CALL_BUDGET / LOOP_BOUND as u64 - 1);
            let base = scope.render(&func.body);
            let bound = format!("(p0 % {LOOP_BOUND})");
            let mut steps = func.step.iter();
            // The accumulating loop's added value comes first.
            let added = match func.shape {
                Shape::Accumulating => Some(match steps.next() {
                    Some(step) => scope.render(step),
                    None => "p0".to_owned(),
                }),
                _ => None,
            };
            let mut args = vec![format!("({bound} - 1)")];
            for param in 1..params {
                let next = match steps.next() {
                    Some(next) => scope.render(next),
                    // A wide loop rotates its parameters.
                    None if func.shape == Shape::WideLoop => {
                        format!("p{}", param % (params - 1) + 1)
                    }
                    None => format!("p{param}"),
                };
                args.push(next);
            }
            let call = format!("{name}({})", args.join(", "));
            let step = match added {
                Some(added) => format!("({added} + {call})"),
                None => call,
            };
            let text = format!("{header}if {bound} <= 0 then {base} else {step}");
            (text, LOOP_BOUND as u64 * (1 + scope.spent()))
        }
        Shape::Helper => {
            let mut scope = Scope::new(param_names, later, CALL_BUDGET - 1);
            scope.max_depth = HELPER_DEPTH;
            let body = scope.render(&func.body);
            // Division or remainder, by the index's parity.
            let op = if func.params.is_multiple_of(2) {
                '/'
            } else {
                '%'
            };
            let text = format!("{header}({body}) {op} p{}", params - 1);
            (text, 1 + scope.spent())
        }
    };
    (text, Callee { name, params, cost })
}

/// The recursive call of a [`Shape::Recursive`] function's step.
struct SelfCall {
    callee: Callee,
    /// The decreased bound, passed as the first argument.
    first_arg: String,
    sites_left: u64,
}

/// What is in scope while rendering one function body or top-level
/// expression.
struct Scope<'a> {
    vars: Vec<String>,
    lets: usize,
    callees: &'a [Callee],
    self_call: Option<SelfCall>,
    initial_budget: u64,
    budget: u64,
    /// Nodes deeper than this become constants.
    max_depth: usize,
}

impl<'a> Scope<'a> {
    fn new(vars: Vec<String>, callees: &'a [Callee], budget: u64) -> Scope<'a> {
        Scope {
            vars,
            lets: 0,
            callees,
            self_call: None,
            initial_budget: budget,
            budget,
            max_depth: MAX_DEPTH,
        }
    }

    /// Calls (to other functions) the text rendered so far can make.
    fn spent(&self) -> u64 {
        self.initial_budget - self.budget
    }

    fn render(&mut self, tree: &RawExpr) -> String {
        let mut out = String::new();
        self.expr(tree, 1, &mut out);
        out
    }

    fn expr(&mut self, tree: &RawExpr, depth: usize, out: &mut String) {
        let leaf = matches!(tree, RawExpr::Const(_) | RawExpr::Var(_));
        if depth >= self.max_depth && !leaf {
            out.push('7');
            return;
        }
        let next = depth + 1;
        match tree {
            RawExpr::Const(value) => constant_text(*value, out),
            RawExpr::Var(index) => match self.vars.len() {
                0 => constant_text(EDGES[*index as usize % EDGES.len()], out),
                len => out.push_str(&self.vars[*index as usize % len]),
            },
            RawExpr::Unary(op, operand) => {
                let op = UNARY_OPS[*op as usize % UNARY_OPS.len()];
                let _ = write!(out, "({op}");
                self.expr(operand, next, out);
                out.push(')');
            }
            RawExpr::Binary(op, lhs, rhs) => {
                let op = BINARY_OPS[*op as usize % BINARY_OPS.len()];
                out.push('(');
                self.expr(lhs, next, out);
                let _ = write!(out, " {op} ");
                self.expr(rhs, next, out);
                out.push(')');
            }
            RawExpr::If(cond, then_branch, else_branch) => {
                out.push_str("(if ");
                self.expr(cond, next, out);
                out.push_str(" then ");
                self.expr(then_branch, next, out);
                out.push_str(" else ");
                self.expr(else_branch, next, out);
                out.push(')');
            }
            RawExpr::Let(value, body) => {
                let name = format!("v{}", self.lets);
                self.lets += 1;
                let _ = write!(out, "(let {name} = ");
                self.expr(value, next, out);
                out.push_str(" in ");
                self.vars.push(name);
                self.expr(body, next, out);
                self.vars.pop();
                out.push(')');
            }
            RawExpr::Call(index, args) => self.call(*index, args, next, out),
        }
    }

    /// A call to an affordable callee picked by `index` (in a recursive
    /// step, preferably the function itself), or, with none, the first
    /// argument (or a constant) in its place.
    fn call(&mut self, index: u8, args: &[RawExpr], depth: usize, out: &mut String) {
        let affordable: Vec<usize> = (0..self.callees.len())
            .filter(|&c| self.callees[c].cost <= self.budget)
            .collect();
        let self_call_allowed = self.self_call.as_ref().is_some_and(|s| s.sites_left > 0);
        let choices = affordable.len() + usize::from(self_call_allowed);
        if choices == 0 {
            match args.first() {
                Some(arg) => self.expr(arg, depth, out),
                None => constant_text(i64::from(index), out),
            }
            return;
        }
        let choice = if self_call_allowed && !index.is_multiple_of(3) {
            affordable.len()
        } else {
            index as usize % choices
        };
        let (callee, first_arg) = if choice < affordable.len() {
            let callee = self.callees[affordable[choice]].clone();
            self.budget -= callee.cost;
            (callee, None)
        } else {
            let self_call = self.self_call.as_mut().expect("allowed above");
            self_call.sites_left -= 1;
            (self_call.callee.clone(), Some(self_call.first_arg.clone()))
        };
        let _ = write!(out, "{}(", callee.name);
        for position in 0..callee.params {
            if position > 0 {
                out.push_str(", ");
            }
            match (position, &first_arg, args.get(position)) {
                (0, Some(first_arg), _) => out.push_str(first_arg),
                (_, _, Some(arg)) => self.expr(arg, depth, out),
                (_, _, None) => constant_text(EDGES[position % EDGES.len()], out),
            }
        }
        out.push(')');
    }
}

/// A constant as source: negative ones parenthesized, `i64::MIN` as
/// `(-9223372036854775808)`, the one place the language accepts its
/// magnitude.
fn constant_text(value: i64, out: &mut String) {
    if value < 0 {
        let _ = write!(out, "(-{})", value.unsigned_abs());
    } else {
        let _ = write!(out, "{value}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agree;

    fn func(shape: Shape, params: u8, body: RawExpr, step: Vec<RawExpr>) -> RawFunc {
        RawFunc {
            shape,
            params,
            body,
            step,
        }
    }

    fn boxed(expr: RawExpr) -> Box<RawExpr> {
        Box::new(expr)
    }

    #[test]
    fn an_empty_raw_program_is_the_program_0() {
        let empty = RawProgram {
            funcs: Vec::new(),
            top_level: Vec::new(),
        };
        assert_eq!(render(&empty), "0\n");
        assert_eq!(agree(&render(&empty), &[]).unwrap().printed, [0]);
    }

    #[test]
    fn indices_wrap_around_what_is_in_scope() {
        let program = RawProgram {
            funcs: vec![
                // 11 % 9 = 2 parameters; variable 5 % 2 = p1; operator
                // 18 % 18 = the first, `||`; callee 7 is f1, the only one.
                func(
                    Shape::Plain,
                    11,
                    RawExpr::Binary(
                        18,
                        boxed(RawExpr::Var(5)),
                        boxed(RawExpr::Call(7, vec![RawExpr::Const(-3)])),
                    ),
                    Vec::new(),
                ),
                // No callee: the call is its first argument; no variable:
                // an edge constant (EDGES[2] is -1).
                func(
                    Shape::Plain,
                    0,
                    RawExpr::Call(1, vec![RawExpr::Var(2), RawExpr::Const(9)]),
                    Vec::new(),
                ),
            ],
            top_level: vec![RawExpr::Call(0, Vec::new())],
        };
        assert_eq!(
            render(&program),
            "fn f0(p0, p1) = (p1 || f1())\nfn f1() = (-1)\nf0(0, 1)\n"
        );
    }

    #[test]
    fn the_recursive_shapes_have_their_bound_and_a_decreasing_self_call() {
        let step = RawExpr::Binary(
            13,
            boxed(RawExpr::Call(1, Vec::new())),
            boxed(RawExpr::Call(2, Vec::new())),
        );
        let program = RawProgram {
            funcs: vec![
                func(Shape::Recursive, 0, RawExpr::Var(0), vec![step]),
                func(Shape::Loop, 9, RawExpr::Const(5), Vec::new()),
            ],
            // None: each function is called once.
            top_level: Vec::new(),
        };
        assert_eq!(
            render(&program),
            "fn f0(p0) = if (p0 % 4) <= 0 then p0 else (f0(((p0 % 4) - 1)) + f0(((p0 % 4) - 1)))\n\
             fn f1(p0) = if (p0 % 500) <= 0 then 5 else f1(((p0 % 500) - 1))\n\
             f0(1999)\n\
             f1(1999)\n"
        );
        assert_eq!(agree(&render(&program), &[]).unwrap().printed, [0, 5]);
    }

    #[test]
    fn wide_loops_accumulating_loops_and_helpers_render_their_shapes() {
        let step = RawExpr::Binary(2, boxed(RawExpr::Var(1)), boxed(RawExpr::Const(3)));
        let deep = RawExpr::Unary(
            1,
            boxed(RawExpr::Unary(
                1,
                boxed(RawExpr::Unary(1, boxed(RawExpr::Var(0)))),
            )),
        );
        let program = RawProgram {
            funcs: vec![
                // 7 + 11 % 5 = 8 parameters: the step sets p1, the rest
                // rotate.
                func(Shape::WideLoop, 11, RawExpr::Var(7), vec![step.clone()]),
                func(
                    Shape::Accumulating,
                    2,
                    RawExpr::Const(1),
                    vec![RawExpr::Var(1), step],
                ),
                // 1 + 4 % 3 = 2 parameters, an even index: division; the
                // body is cut at the helper's depth.
                func(Shape::Helper, 4, deep, Vec::new()),
            ],
            top_level: vec![
                RawExpr::Call(0, vec![RawExpr::Const(7)]),
                RawExpr::Call(1, vec![RawExpr::Const(5), RawExpr::Const(2)]),
                RawExpr::Call(2, vec![RawExpr::Const(9), RawExpr::Const(0)]),
            ],
        };
        let source = render(&program);
        let lines: Vec<&str> = source.lines().collect();
        let op = BINARY_OPS[2].symbol();
        assert_eq!(
            lines[0],
            format!(
                "fn f0(p0, p1, p2, p3, p4, p5, p6, p7) = if (p0 % 500) <= 0 then p7 \
                 else f0(((p0 % 500) - 1), (p1 {op} 3), p3, p4, p5, p6, p7, p1)"
            )
        );
        assert_eq!(
            lines[1],
            format!(
                "fn f1(p0, p1) = if (p0 % 500) <= 0 then 1 else (p1 + f1(((p0 % 500) - 1), (p1 {op} 3)))"
            )
        );
        let neg = UNARY_OPS[1].symbol();
        assert_eq!(lines[2], format!("fn f2(p0, p1) = (({neg}({neg}7))) / p1"));
        // They run; the helper's division traps.
        let agreed = agree(&source, &[]).unwrap();
        assert_eq!(agreed.printed.len(), 2);
        assert_eq!(agreed.stopped_by, Some(crate::ErrorKind::DivisionByZero));
    }

    #[test]
    fn deep_trees_are_cut_and_counts_clamped() {
        let mut deep = RawExpr::Var(0);
        for _ in 0..100 {
            deep = RawExpr::Unary(2, boxed(deep));
        }
        let program = RawProgram {
            funcs: vec![func(Shape::Plain, 200, deep, Vec::new()); 10],
            top_level: vec![RawExpr::Const(1); 10],
        };
        let source = render(&program);
        assert_eq!(source.matches("fn ").count(), MAX_FUNCS);
        assert_eq!(source.lines().count(), MAX_FUNCS + MAX_TOP_LEVEL);
        let first = source.lines().next().unwrap();
        assert_eq!(first.matches('~').count(), MAX_DEPTH - 1, "{first}");
        assert!(first.starts_with("fn f0(p0, p1) = (~(~"), "{first}");
        assert_eq!(agree(&source, &[]).unwrap().printed, [1; MAX_TOP_LEVEL]);
    }
}
