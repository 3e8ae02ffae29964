//! Differential testing: random well-formed programs run on the JIT and on
//! the reference interpreter must print the same values and stop with the
//! same runtime error (kind and location).
//!
//! The generator (proptest strategies) draws a raw tree — functions of 0 to
//! 8 parameters, every operator, `if`, `let`, calls, edge constants — and
//! [`render`] turns any such tree into a valid program: variable and callee
//! references are indices resolved against what is in scope, and calls only
//! go to later functions or, in the two recursive shapes, back to the same
//! function with a bound that decreases, so every program terminates. A
//! budget on the number of calls keeps each program's run short. Because
//! every tree renders to a valid program, proptest's shrinking yields a
//! minimal failing program.
//!
//! `cargo test` runs a few thousand cases; set `EXPRJIT_DIFF_CASES` for a
//! longer run (e.g. `EXPRJIT_DIFF_CASES=200000 cargo test --release --test
//! differential`). Every bug found is kept as a golden test in
//! `tests/golden/` (the golden suite also runs on both back ends).

use std::fmt::{self, Write as _};

use proptest::prelude::*;
use proptest::test_runner::Config;

use exprjit::ast::{BinOp, UnOp};
use exprjit::pipeline::{self, Backend, Runner, Timings};
use exprjit::runtime_error::RuntimeError;

/// How many calls a generated function may make per invocation, counting
/// the calls of its callees. Keeps the slowest case in the low milliseconds.
const CALL_BUDGET: u64 = 20_000;

/// The recursion bound of a [`Shape::Recursive`] function: at most this
/// many nested levels.
const RECURSION_BOUND: i64 = 4;

/// The iteration bound of a [`Shape::Loop`] function.
const LOOP_BOUND: i64 = 500;

/// Self-call sites a recursive body may have (more would make the call tree
/// grow too fast); further ones render as constants.
const MAX_SELF_CALLS: u64 = 2;

const BINARY_OPS: [BinOp; 18] = BinOp::ALL;

const UNARY_OPS: [UnOp; 3] = UnOp::ALL;

/// Constants where integer semantics have their corners.
const EDGE_CONSTANTS: [i64; 20] = [
    0,
    1,
    -1,
    2,
    3,
    7,
    10,
    -10,
    63,
    64,
    65,
    -64,
    255,
    1 << 32,
    i64::MIN,
    i64::MIN + 1,
    i64::MAX,
    i64::MAX - 1,
    0x5555_5555_5555_5555,
    -0x0123_4567_89ab_cdef,
];

/// A raw expression: any tree is usable, [`render`] gives it meaning.
#[derive(Clone, Debug)]
enum Gen {
    Const(i64),
    /// The variable `index % in_scope` (a constant when none is in scope).
    Var(u8),
    Unary(UnOp, Box<Gen>),
    Binary(BinOp, Box<Gen>, Box<Gen>),
    If(Box<Gen>, Box<Gen>, Box<Gen>),
    /// `let` binds a fresh name, in scope in the body.
    Let(Box<Gen>, Box<Gen>),
    /// A call to callee `index % callable`; missing arguments are filled
    /// with constants, extra ones dropped.
    Call(u8, Vec<Gen>),
}

/// How a generated function is built around its body.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Shape {
    /// `fn f(...) = BODY`.
    Plain,
    /// `fn f(n, ...) = if n % B <= 0 then BASE else STEP`, where STEP may
    /// call `f(n % B - 1, ...)`: bounded, possibly branching recursion.
    Recursive,
    /// `fn f(n, ...) = if n % B <= 0 then BASE else f(n % B - 1, ARGS...)`:
    /// a loop as a tail call, with all parameters passed on.
    Loop,
}

#[derive(Clone, Debug)]
struct GenFunc {
    shape: Shape,
    arity: usize,
    /// The body; for the recursive shapes the base case.
    body: Gen,
    /// The recursive step (or the loop's new argument values).
    step: Vec<Gen>,
}

/// A whole program: functions, then top-level expressions.
#[derive(Clone)]
struct GenProgram {
    funcs: Vec<GenFunc>,
    top_level: Vec<Gen>,
}

/// Shows the rendered source: that is what a failure report needs.
impl fmt::Debug for GenProgram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\n{}", render(self))
    }
}

fn constant() -> impl Strategy<Value = i64> {
    prop_oneof![
        4 => prop::sample::select(&EDGE_CONSTANTS[..]),
        4 => -20i64..=20,
        1 => any::<i64>(),
    ]
}

fn expr() -> impl Strategy<Value = Gen> {
    let leaf = prop_oneof![
        2 => constant().prop_map(Gen::Const),
        3 => any::<u8>().prop_map(Gen::Var),
    ];
    leaf.prop_recursive(5, 40, 4, |inner| {
        prop_oneof![
            2 => (prop::sample::select(&UNARY_OPS[..]), inner.clone())
                .prop_map(|(op, e)| Gen::Unary(op, Box::new(e))),
            6 => (prop::sample::select(&BINARY_OPS[..]), inner.clone(), inner.clone())
                .prop_map(|(op, l, r)| Gen::Binary(op, Box::new(l), Box::new(r))),
            2 => (inner.clone(), inner.clone(), inner.clone())
                .prop_map(|(c, t, e)| Gen::If(Box::new(c), Box::new(t), Box::new(e))),
            1 => (inner.clone(), inner.clone())
                .prop_map(|(v, b)| Gen::Let(Box::new(v), Box::new(b))),
            2 => (any::<u8>(), prop::collection::vec(inner, 0..=9))
                .prop_map(|(callee, args)| Gen::Call(callee, args)),
        ]
    })
}

/// A call, alone or as an operand: what makes recursion and loops happen.
fn call() -> impl Strategy<Value = Gen> {
    let call = || {
        (any::<u8>(), prop::collection::vec(expr(), 0..=9))
            .prop_map(|(callee, args)| Gen::Call(callee, args))
    };
    let op = || prop::sample::select(&BINARY_OPS[..]);
    prop_oneof![
        2 => call(),
        2 => (op(), call(), expr()).prop_map(|(op, l, r)| Gen::Binary(op, Box::new(l), Box::new(r))),
        1 => (op(), call(), call()).prop_map(|(op, l, r)| Gen::Binary(op, Box::new(l), Box::new(r))),
    ]
}

fn func() -> impl Strategy<Value = GenFunc> {
    (
        prop_oneof![
            3 => Just(Shape::Plain),
            2 => Just(Shape::Recursive),
            1 => Just(Shape::Loop),
        ],
        0usize..=8,
        prop_oneof![2 => expr(), 1 => call()],
        prop::collection::vec(prop_oneof![expr(), call()], 0..=8),
    )
        .prop_map(|(shape, arity, body, step)| {
            // The recursive shapes need their bound parameter.
            let arity = if shape == Shape::Plain {
                arity
            } else {
                arity.max(1)
            };
            GenFunc {
                shape,
                arity,
                body,
                step,
            }
        })
}

fn program() -> impl Strategy<Value = GenProgram> {
    (
        prop::collection::vec(func(), 1..=5),
        prop::collection::vec(prop_oneof![2 => call(), 1 => expr()], 1..=4),
    )
        .prop_map(|(funcs, top_level)| GenProgram { funcs, top_level })
}

/// Turns a raw program into source text. Functions are named `f0, f1, ...`
/// and may call only later functions (and themselves, in the recursive
/// shapes, with a decreasing bound), so every program terminates. Each
/// function's worst-case number of calls is known once it is rendered, and
/// a call that would take an expression over [`CALL_BUDGET`] becomes a
/// constant.
fn render(program: &GenProgram) -> String {
    let count = program.funcs.len();
    // Rendered from the last function back, so that callees' costs are known.
    let mut later: Vec<Callee> = Vec::new();
    let mut defs = Vec::with_capacity(count);
    for index in (0..count).rev() {
        let (text, cost) = render_func(index, &program.funcs[index], &later);
        defs.push(text);
        later.insert(
            0,
            Callee {
                name: format!("f{index}"),
                arity: program.funcs[index].arity,
                cost,
            },
        );
    }
    defs.reverse();
    let mut source = defs.join("\n");
    for expr in &program.top_level {
        let mut scope = Scope::new(Vec::new(), later.clone(), CALL_BUDGET);
        let _ = write!(source, "\n{}", scope.render(expr));
    }
    source.push('\n');
    source
}

/// Renders function `index`; returns its definition and its worst-case
/// number of calls per invocation, itself included.
fn render_func(index: usize, func: &GenFunc, later: &[Callee]) -> (String, u64) {
    let name = format!("f{index}");
    let params: Vec<String> = (0..func.arity).map(|p| format!("p{p}")).collect();
    let header = format!("fn {name}({}) = ", params.join(", "));
    match func.shape {
        Shape::Plain => {
            let mut scope = Scope::new(params, later.to_vec(), CALL_BUDGET - 1);
            let body = scope.render(&func.body);
            (header + &body, 1 + scope.spent())
        }
        Shape::Recursive => {
            // At most 1 + s + s^2 + ... invocations for s self-call sites.
            let invocations: u64 = (0..RECURSION_BOUND as u32)
                .map(|level| MAX_SELF_CALLS.pow(level))
                .sum();
            let mut scope = Scope::new(params, later.to_vec(), CALL_BUDGET / invocations - 1);
            let base = scope.render(&func.body);
            let bound = format!("(p0 % {RECURSION_BOUND})");
            scope.self_call = Some(SelfCall {
                callee: Callee {
                    name,
                    arity: func.arity,
                    cost: 0,
                },
                first_arg: format!("({bound} - 1)"),
                sites_left: MAX_SELF_CALLS,
            });
            let step = scope.render(func.step.first().unwrap_or(&func.body));
            let text = format!("{header}if {bound} <= 0 then {base} else {step}");
            (text, invocations * (1 + scope.spent()))
        }
        Shape::Loop => {
            let mut scope = Scope::new(params, later.to_vec(), CALL_BUDGET / LOOP_BOUND as u64 - 1);
            let base = scope.render(&func.body);
            let bound = format!("(p0 % {LOOP_BOUND})");
            let mut args = vec![format!("({bound} - 1)")];
            for param in 1..func.arity {
                let next = match func.step.get(param - 1) {
                    Some(next) => scope.render(next),
                    None => format!("p{param}"),
                };
                args.push(next);
            }
            let text = format!(
                "{header}if {bound} <= 0 then {base} else {name}({})",
                args.join(", ")
            );
            (text, LOOP_BOUND as u64 * (1 + scope.spent()))
        }
    }
}

/// A function a call may go to.
#[derive(Clone, Debug)]
struct Callee {
    name: String,
    arity: usize,
    /// Worst-case calls per invocation.
    cost: u64,
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
struct Scope {
    vars: Vec<String>,
    lets: usize,
    callees: Vec<Callee>,
    self_call: Option<SelfCall>,
    initial_budget: u64,
    budget: u64,
}

impl Scope {
    fn new(vars: Vec<String>, callees: Vec<Callee>, budget: u64) -> Scope {
        Scope {
            vars,
            lets: 0,
            callees,
            self_call: None,
            initial_budget: budget,
            budget,
        }
    }

    /// Calls (to other functions) the rendered text can make.
    fn spent(&self) -> u64 {
        self.initial_budget - self.budget
    }

    fn render(&mut self, tree: &Gen) -> String {
        let mut out = String::new();
        self.expr(tree, &mut out);
        out
    }

    fn expr(&mut self, tree: &Gen, out: &mut String) {
        match tree {
            Gen::Const(value) => constant_text(*value, out),
            Gen::Var(index) => match self.vars.len() {
                0 => constant_text(EDGE_CONSTANTS[*index as usize % EDGE_CONSTANTS.len()], out),
                len => out.push_str(&self.vars[*index as usize % len]),
            },
            Gen::Unary(op, operand) => {
                let _ = write!(out, "({op}");
                self.expr(operand, out);
                out.push(')');
            }
            Gen::Binary(op, lhs, rhs) => {
                out.push('(');
                self.expr(lhs, out);
                let _ = write!(out, " {op} ");
                self.expr(rhs, out);
                out.push(')');
            }
            Gen::If(cond, then_branch, else_branch) => {
                out.push_str("(if ");
                self.expr(cond, out);
                out.push_str(" then ");
                self.expr(then_branch, out);
                out.push_str(" else ");
                self.expr(else_branch, out);
                out.push(')');
            }
            Gen::Let(value, body) => {
                let name = format!("v{}", self.lets);
                self.lets += 1;
                let _ = write!(out, "(let {name} = ");
                self.expr(value, out);
                out.push_str(" in ");
                self.vars.push(name);
                self.expr(body, out);
                self.vars.pop();
                out.push(')');
            }
            Gen::Call(index, args) => self.call(*index, args, out),
        }
    }

    /// A call to an affordable callee picked by `index` (in a recursive
    /// step, preferably the function itself), or, with none, the first
    /// argument (or a constant) in its place.
    fn call(&mut self, index: u8, args: &[Gen], out: &mut String) {
        let affordable: Vec<usize> = (0..self.callees.len())
            .filter(|&c| self.callees[c].cost <= self.budget)
            .collect();
        let self_call_allowed = self.self_call.as_ref().is_some_and(|s| s.sites_left > 0);
        let choices = affordable.len() + usize::from(self_call_allowed);
        if choices == 0 {
            match args.first() {
                Some(arg) => self.expr(arg, out),
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
        for position in 0..callee.arity {
            if position > 0 {
                out.push_str(", ");
            }
            match (position, &first_arg, args.get(position)) {
                (0, Some(first_arg), _) => out.push_str(first_arg),
                (_, _, Some(arg)) => self.expr(arg, out),
                (_, _, None) => constant_text(EDGE_CONSTANTS[position % EDGE_CONSTANTS.len()], out),
            }
        }
        out.push(')');
    }
}

/// A constant as source: negative ones parenthesized (`i64::MIN` written as
/// its magnitude, which only the negation makes valid).
fn constant_text(value: i64, out: &mut String) {
    if value < 0 {
        let _ = write!(out, "(-{})", value.unsigned_abs());
    } else {
        let _ = write!(out, "{value}");
    }
}

/// What a run printed: the values, then the error that stopped it.
#[derive(Debug, PartialEq, Eq)]
struct Run {
    values: Vec<i64>,
    error: Option<RuntimeError>,
}

fn run(program: &exprjit::ir::Program, backend: Backend) -> Run {
    let runner = Runner::new(program, backend, &mut Timings::default()).expect("code memory");
    let mut values = Vec::new();
    for &func in &program.top_level {
        match runner.call(func, &[], None).expect("JIT stack") {
            Ok(value) => values.push(value),
            Err(error) => {
                return Run {
                    values,
                    error: Some(error),
                };
            }
        }
    }
    Run {
        values,
        error: None,
    }
}

/// Runs `source` on both back ends and compares what they printed.
fn check_agreement(source: &str) -> Result<(), TestCaseError> {
    let program = match pipeline::front_end(source, &[], &mut Timings::default()) {
        Ok(program) => program,
        Err(errors) => {
            return Err(TestCaseError::fail(format!(
                "the generator made an invalid program: {errors:?}"
            )));
        }
    };
    let jit = run(&program, Backend::Jit);
    let interp = run(&program, Backend::Interp);
    prop_assert_eq!(&jit, &interp, "JIT (left) and interpreter (right) disagree");
    Ok(())
}

fn cases() -> u32 {
    std::env::var("EXPRJIT_DIFF_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(3000)
}

proptest! {
    #![proptest_config(Config { cases: cases(), ..Config::default() })]

    #[test]
    fn jit_and_interpreter_agree(program in program()) {
        check_agreement(&render(&program))?;
    }
}

/// The generator really produces what the differential test needs.
#[test]
fn generated_programs_cover_the_language() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    let mut runner = TestRunner::deterministic();
    let mut seen = String::new();
    let mut errors = 0;
    for _ in 0..300 {
        let program = program().new_tree(&mut runner).unwrap().current();
        let source = render(&program);
        let checked = pipeline::front_end(&source, &[], &mut Timings::default())
            .unwrap_or_else(|e| panic!("invalid program {source}: {e:?}"));
        if run(&checked, Backend::Interp).error.is_some() {
            errors += 1;
        }
        seen.push_str(&source);
    }
    for op in BINARY_OPS
        .iter()
        .map(|op| op.symbol())
        .chain(["if", "let", "~", "!"])
    {
        assert!(
            seen.contains(&format!(" {op} ")) || seen.contains(op),
            "never generated {op}"
        );
    }
    for needle in [
        "9223372036854775807",
        "(-9223372036854775808)",
        "% 4) - 1",
        "% 500) - 1",
        "p7",
    ] {
        assert!(seen.contains(needle), "never generated {needle}");
    }
    // Some programs divide by zero, most do not.
    assert!(
        (5..250).contains(&errors),
        "{errors} of 300 programs failed"
    );
}
