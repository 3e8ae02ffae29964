//! Structured programs run on both back ends: the JIT and the reference
//! interpreter must print the same values and stop with the same runtime
//! error (kind and location).
//!
//! The fuzzer's bytes become a raw tree through the `arbitrary` crate;
//! [`render`] turns any such tree into a well-formed program: variables and
//! callees are indices resolved against what is in scope, functions call
//! only later functions (and, in the loop shape, themselves in tail position
//! with a decreasing bound), and a budget on calls keeps every run short.
//! So every input is a valid, terminating program, and any disagreement (or
//! a program that fails to compile) is a bug.

#![no_main]

use std::fmt::Write as _;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;

use exprjit::ast::{BinOp, UnOp};
use exprjit::pipeline::{self, Backend, Runner, Timings};

fuzz_target!(|program: RawProgram| {
    let source = render(&program);
    let mut timings = Timings::default();
    let checked = match pipeline::front_end(&source, &[], &mut timings) {
        Ok(checked) => checked,
        Err(errors) => panic!("generated program does not compile: {errors:?}\n{source}"),
    };
    let jit = Runner::new(&checked, Backend::Jit, &mut timings).expect("load the JIT code");
    let interp = Runner::new(&checked, Backend::Interp, &mut timings).expect("prepare");
    for &func in &checked.top_level {
        let by_jit = jit.call(func, &[], None).expect("JIT stack");
        let by_interp = interp.call(func, &[], None).expect("interpreter");
        assert_eq!(by_jit, by_interp, "back ends disagree on\n{source}");
        if by_jit.is_err() {
            break; // a runtime error stops the program
        }
    }
});

/// A raw expression; [`Scope::expr`] gives it meaning.
#[derive(Arbitrary, Debug)]
enum Raw {
    Const(Constant),
    /// Variable `index % in_scope` (a constant when none is in scope).
    Var(u8),
    Unary(u8, Box<Raw>),
    Binary(u8, Box<Raw>, Box<Raw>),
    If(Box<Raw>, Box<Raw>, Box<Raw>),
    Let(Box<Raw>, Box<Raw>),
    /// A call to later function `index % count`; missing arguments are
    /// filled with constants, extra ones dropped.
    Call(u8, Vec<Raw>),
}

#[derive(Arbitrary, Debug)]
enum Constant {
    Edge(u8),
    Small(i8),
    Any(i64),
}

#[derive(Arbitrary, Debug)]
struct RawFunc {
    /// Parameters: `arity % 9`.
    arity: u8,
    /// `fn f(p0, ...) = if (p0 % B) <= 0 then BODY else f((p0 % B) - 1, STEP...)`.
    looped: bool,
    body: Raw,
    step: Vec<Raw>,
}

#[derive(Arbitrary, Debug)]
struct RawProgram {
    funcs: Vec<RawFunc>,
    top_level: Vec<Raw>,
}

const MAX_FUNCS: usize = 6;
const MAX_TOP_LEVEL: usize = 4;
/// Deeper raw trees are cut to constants.
const MAX_DEPTH: usize = 12;
/// Calls one top-level expression may make, callees' calls included.
const CALL_BUDGET: u64 = 20_000;
/// The loop shape's iteration bound.
const LOOP_BOUND: u64 = 64;

const BINARY_OPS: [BinOp; 18] = BinOp::ALL;
const UNARY_OPS: [UnOp; 3] = UnOp::ALL;
const EDGE_CONSTANTS: [i64; 14] = [
    0,
    1,
    -1,
    2,
    63,
    64,
    65,
    -64,
    1 << 32,
    i64::MIN,
    i64::MIN + 1,
    i64::MAX,
    i64::MAX - 1,
    0x5555_5555_5555_5555,
];

#[derive(Clone)]
struct Callee {
    name: String,
    arity: usize,
    /// Worst-case calls per invocation, itself included.
    cost: u64,
}

fn render(program: &RawProgram) -> String {
    let funcs = &program.funcs[..program.funcs.len().min(MAX_FUNCS)];
    let mut later: Vec<Callee> = Vec::new();
    let mut defs = Vec::new();
    // From the last function back, so that callees' costs are known.
    for (index, func) in funcs.iter().enumerate().rev() {
        let name = format!("f{index}");
        let arity = usize::from(func.arity % 9).max(usize::from(func.looped));
        let params: Vec<String> = (0..arity).map(|p| format!("p{p}")).collect();
        let header = format!("fn {name}({}) = ", params.join(", "));
        let (text, cost) = if func.looped {
            let mut scope = Scope::new(params, later.clone(), CALL_BUDGET / LOOP_BOUND - 1);
            let base = scope.render(&func.body);
            let bound = format!("(p0 % {LOOP_BOUND})");
            let mut args = vec![format!("({bound} - 1)")];
            for param in 1..arity {
                match func.step.get(param - 1) {
                    Some(next) => args.push(scope.render(next)),
                    None => args.push(format!("p{param}")),
                }
            }
            let text = format!(
                "{header}if {bound} <= 0 then {base} else {name}({})",
                args.join(", ")
            );
            (text, LOOP_BOUND * (1 + scope.spent()))
        } else {
            let mut scope = Scope::new(params, later.clone(), CALL_BUDGET - 1);
            let body = scope.render(&func.body);
            (header + &body, 1 + scope.spent())
        };
        defs.push(text);
        later.insert(0, Callee { name, arity, cost });
    }
    defs.reverse();
    let mut source = defs.join("\n");
    let top_level = &program.top_level[..program.top_level.len().min(MAX_TOP_LEVEL)];
    for expr in top_level {
        let mut scope = Scope::new(Vec::new(), later.clone(), CALL_BUDGET);
        let _ = write!(source, "\n{}", scope.render(expr));
    }
    if top_level.is_empty() {
        source.push_str("\n0");
    }
    source.push('\n');
    source
}

struct Scope {
    vars: Vec<String>,
    lets: usize,
    callees: Vec<Callee>,
    initial_budget: u64,
    budget: u64,
}

impl Scope {
    fn new(vars: Vec<String>, callees: Vec<Callee>, budget: u64) -> Scope {
        Scope {
            vars,
            lets: 0,
            callees,
            initial_budget: budget,
            budget,
        }
    }

    fn spent(&self) -> u64 {
        self.initial_budget - self.budget
    }

    fn render(&mut self, raw: &Raw) -> String {
        let mut out = String::new();
        self.expr(raw, 0, &mut out);
        out
    }

    fn expr(&mut self, raw: &Raw, depth: usize, out: &mut String) {
        if depth > MAX_DEPTH {
            out.push('7');
            return;
        }
        let depth = depth + 1;
        match raw {
            Raw::Const(constant) => constant_text(constant_value(constant), out),
            Raw::Var(index) => match self.vars.len() {
                0 => constant_text(EDGE_CONSTANTS[*index as usize % EDGE_CONSTANTS.len()], out),
                len => out.push_str(&self.vars[*index as usize % len]),
            },
            Raw::Unary(op, operand) => {
                out.push('(');
                out.push_str(UNARY_OPS[*op as usize % UNARY_OPS.len()].symbol());
                self.expr(operand, depth, out);
                out.push(')');
            }
            Raw::Binary(op, lhs, rhs) => {
                out.push('(');
                self.expr(lhs, depth, out);
                let _ = write!(out, " {} ", BINARY_OPS[*op as usize % BINARY_OPS.len()]);
                self.expr(rhs, depth, out);
                out.push(')');
            }
            Raw::If(cond, then_branch, else_branch) => {
                out.push_str("(if ");
                self.expr(cond, depth, out);
                out.push_str(" then ");
                self.expr(then_branch, depth, out);
                out.push_str(" else ");
                self.expr(else_branch, depth, out);
                out.push(')');
            }
            Raw::Let(value, body) => {
                let name = format!("v{}", self.lets);
                self.lets += 1;
                let _ = write!(out, "(let {name} = ");
                self.expr(value, depth, out);
                out.push_str(" in ");
                self.vars.push(name);
                self.expr(body, depth, out);
                self.vars.pop();
                out.push(')');
            }
            Raw::Call(index, args) => {
                let callee = match self.callees.len() {
                    0 => None,
                    len => Some(self.callees[*index as usize % len].clone()),
                };
                // A call over budget becomes a constant.
                let Some(callee) = callee.filter(|c| c.cost <= self.budget) else {
                    constant_text(i64::from(*index), out);
                    return;
                };
                self.budget -= callee.cost;
                let _ = write!(out, "{}(", callee.name);
                for position in 0..callee.arity {
                    if position > 0 {
                        out.push_str(", ");
                    }
                    match args.get(position) {
                        Some(arg) => self.expr(arg, depth, out),
                        None => constant_text(position as i64, out),
                    }
                }
                out.push(')');
            }
        }
    }
}

fn constant_value(constant: &Constant) -> i64 {
    match *constant {
        Constant::Edge(index) => EDGE_CONSTANTS[index as usize % EDGE_CONSTANTS.len()],
        Constant::Small(value) => i64::from(value),
        Constant::Any(value) => value,
    }
}

/// Writes `value` as source; negative values in parentheses, `i64::MIN`
/// as the one literal the language allows for it.
fn constant_text(value: i64, out: &mut String) {
    let _ = if value < 0 {
        write!(out, "(-{})", value.unsigned_abs())
    } else {
        write!(out, "{value}")
    };
}
