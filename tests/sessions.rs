//! Differential testing of REPL sessions: a session compiles each entry on
//! its own and links entries through its function table, which must give
//! the same answers as compiling every live definition together.
//!
//! Programs come from the shared generator (`exprjit-testgen`). A session
//! enters the definitions of one program `p` in a random order, split into
//! several entries (so that calls reach functions defined later: forward
//! references), runs its top-level expressions one entry each, gives some
//! of its functions another body, an entry each (their callers, in their
//! own entry or others, must now reach the new bodies), runs the
//! expressions again, then redefines the first functions with those of a
//! second program `q` in one entry
//! and runs the expressions of both. Each expression's outcome on the JIT
//! session and on the interpreter session must be the outcome of the whole
//! program of the definitions live at that point, compiled at once. An
//! expression entered before every definition is in may stop at a call of
//! a function not defined yet; both back ends must agree on that.
//!
//! `cargo test` runs 200 sessions; `EXPRJIT_SESSION_CASES` sets more.

mod common;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm};

use exprjit::pipeline::{self, Backend, Runner, Timings};
use exprjit::session::{Failure, Reply, Session};
use exprjit_testgen::{RawProgram, render, strategy};

fn config() -> Config {
    Config {
        cases: common::env_count("EXPRJIT_SESSION_CASES", 200),
        rng_algorithm: RngAlgorithm::XorShift,
        ..Config::default()
    }
}

/// What an expression entry gave, in the terms both ways of compiling
/// share: a value, a runtime error's message, or a compile error.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Outcome {
    Value(i64),
    RuntimeError(String),
    CompileError,
}

/// A rendered program split into its definitions (by function name) and
/// its top-level expressions.
struct Items {
    defs: Vec<(String, String)>,
    exprs: Vec<String>,
}

fn items(program: &RawProgram) -> Items {
    let mut items = Items {
        defs: Vec::new(),
        exprs: Vec::new(),
    };
    for line in render(program).lines() {
        match line.strip_prefix("fn ") {
            Some(rest) => {
                let name = rest.split('(').next().unwrap_or_default().to_owned();
                items.defs.push((name, line.to_owned()));
            }
            None => items.exprs.push(line.to_owned()),
        }
    }
    items
}

/// The sessions being compared, and the definitions live in them.
struct Sessions {
    jit: Session,
    interp: Session,
    /// A session whose back end changes between entries at random: the
    /// JIT then compiles what the interpreter ran, and the other way round.
    mixed: Session,
    /// The mixed session's back end for each entry (the JIT past the end).
    backends: Vec<bool>,
    /// The text of each live definition, by name, in definition order.
    live: Vec<(String, String)>,
    entries: usize,
}

impl Sessions {
    fn new(backends: Vec<bool>) -> Sessions {
        let mut interp = Session::new();
        interp.set_backend(Backend::Interp);
        Sessions {
            jit: Session::new(),
            interp,
            mixed: Session::new(),
            backends,
            live: Vec::new(),
            entries: 0,
        }
    }

    /// Enters `defs` as one entry on both; they must agree on whether it
    /// is accepted, and if it is the definitions are live.
    fn define(&mut self, defs: &[(String, String)]) -> Result<(), TestCaseError> {
        let text: Vec<&str> = defs.iter().map(|(_, def)| def.as_str()).collect();
        let text = text.join("\n");
        let (jit, interp) = self.eval(&text);
        prop_assert_eq!(&jit, &interp, "entry:\n{}", text);
        if jit.iter().all(|outcome| *outcome != Outcome::CompileError) {
            for (name, def) in defs {
                match self.live.iter_mut().find(|(live, _)| live == name) {
                    Some(slot) => slot.1 = def.clone(),
                    None => self.live.push((name.clone(), def.clone())),
                }
            }
        }
        Ok(())
    }

    /// Runs `expr` as an entry on both; with `complete`, every function
    /// it can reach is defined, so the outcome must be that of the whole
    /// program of the live definitions.
    fn run(&mut self, expr: &str, complete: bool) -> Result<(), TestCaseError> {
        let (jit, interp) = self.eval(expr);
        prop_assert_eq!(&jit, &interp, "expression {}", expr);
        if complete {
            let whole = self.whole_program(expr);
            prop_assert_eq!(
                &jit,
                &vec![whole_outcome(&whole)],
                "expression {} against the whole program:\n{}",
                expr,
                whole
            );
        }
        Ok(())
    }

    fn whole_program(&self, expr: &str) -> String {
        let mut source: Vec<&str> = self.live.iter().map(|(_, def)| def.as_str()).collect();
        source.push(expr);
        source.join("\n")
    }

    /// The outcomes on the JIT and on the interpreter; the mixed session
    /// must agree with them.
    fn eval(&mut self, text: &str) -> (Vec<Outcome>, Vec<Outcome>) {
        self.entries += 1;
        let name = format!("<entry {}>", self.entries);
        let jit = outcomes(&mut self.jit, &name, text);
        let interp = outcomes(&mut self.interp, &name, text);
        let on_interp = self.backends.get(self.entries).copied().unwrap_or(false);
        let backend = if on_interp {
            Backend::Interp
        } else {
            Backend::Jit
        };
        self.mixed.set_backend(backend);
        let mixed = outcomes(&mut self.mixed, &name, text);
        assert_eq!(
            jit, mixed,
            "{name} on the mixed session ({backend:?}): {text}"
        );
        (jit, interp)
    }
}

/// The values of an entry's expressions and its error, if any.
fn outcomes(session: &mut Session, name: &str, text: &str) -> Vec<Outcome> {
    let outcome = session.eval(name, text, None);
    let mut out: Vec<Outcome> = outcome
        .replies
        .iter()
        .filter_map(|reply| match reply {
            Reply::Value(value) => Some(Outcome::Value(*value)),
            Reply::Defined { .. } => None,
        })
        .collect();
    match outcome.failure {
        None => {}
        Some(Failure::Errors { diagnostics, .. }) => {
            let message = &diagnostics[0].message;
            let is_runtime = diagnostics[0]
                .code
                .is_some_and(|code| code.as_str().starts_with("E01"));
            out.push(if is_runtime {
                Outcome::RuntimeError(message.clone())
            } else {
                Outcome::CompileError
            });
        }
        Some(other) => panic!("{name}: {other:?}"),
    }
    out
}

/// The outcome of `source`'s only top-level expression, compiled whole
/// (by the interpreter: the batch JIT is checked against it elsewhere).
fn whole_outcome(source: &str) -> Outcome {
    let Ok(program) = pipeline::front_end(source, &mut Timings::default()) else {
        return Outcome::CompileError;
    };
    let runner = Runner::new(&program, Backend::Interp, &mut Timings::default()).unwrap();
    match runner.call(program.top_level[0], &[], None).unwrap() {
        Ok(value) => Outcome::Value(value),
        Err(fault) => Outcome::RuntimeError(fault.to_diagnostic().message),
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn sessions_agree_with_compiling_everything_at_once(
        p in strategy::program(),
        q in strategy::program(),
        order in prop::collection::vec(any::<u32>(), 12),
        cuts in prop::collection::vec(any::<bool>(), 12),
        backends in prop::collection::vec(any::<bool>(), 40),
    ) {
        let (p, q) = (items(&p), items(&q));
        let mut sessions = Sessions::new(backends);
        // `p`'s definitions, shuffled and cut into entries; its first
        // expression is tried once before the last entry (it may reach a
        // function not defined yet).
        let mut defs = p.defs.clone();
        for (index, key) in order.iter().enumerate().take(defs.len()) {
            let other = *key as usize % defs.len();
            defs.swap(index, other);
        }
        let mut entry = Vec::new();
        for (index, def) in defs.iter().enumerate() {
            entry.push(def.clone());
            let last = index + 1 == defs.len();
            if last || cuts.get(index).copied().unwrap_or(false) {
                if let (true, Some(first)) = (last, p.exprs.first()) {
                    sessions.run(first, false)?;
                }
                sessions.define(&std::mem::take(&mut entry))?;
            }
        }
        for expr in &p.exprs {
            sessions.run(expr, true)?;
        }
        // Some of `p`'s functions get another body of the same arity, each
        // in an entry of its own: their callers, in their own entries or
        // others, reach the new bodies.
        for (index, (name, def)) in p.defs.iter().enumerate() {
            if cuts.get(index).copied().unwrap_or(false) {
                let (head, body) = def.split_once(" = ").expect("a definition");
                sessions.define(&[(name.clone(), format!("{head} = ({body}) ^ 1"))])?;
            }
        }
        for expr in &p.exprs {
            sessions.run(expr, true)?;
        }
        // `q`'s definitions replace the first functions of `p` at once.
        sessions.define(&q.defs)?;
        for expr in p.exprs.iter().chain(&q.exprs) {
            sessions.run(expr, true)?;
        }
    }
}
