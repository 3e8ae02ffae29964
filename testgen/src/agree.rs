//! The one check that the JIT and the reference interpreter agree.

use std::fmt;
use std::panic::{self, AssertUnwindSafe};

use crate::backends::{self, Checked, Outcome, Prepared, Side};

/// The kind of a runtime error, for callers that count them.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// `/` or `%` by zero.
    DivisionByZero,
    /// Recursion too deep.
    StackOverflow,
    /// Stopped by an interrupt (the check never requests one).
    Interrupted,
    /// (REPL sessions) A call reached a function not defined yet.
    UndefinedFunction,
}

/// What both back ends did, when they agreed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Agreed {
    /// The values the top-level expressions printed, in order.
    pub printed: Vec<i64>,
    /// The runtime error that stopped the program, if one did.
    pub stopped_by: Option<ErrorKind>,
    /// How many of the extra calls ended in a runtime error.
    pub failed_calls: usize,
}

/// Why a program failed the check: it did not compile, a back end
/// panicked, or the back ends disagreed. Its `Display` (and `Debug`) form
/// is a readable report: what differs, each side's outcome, and the
/// numbered program source.
pub struct Disagreement {
    source: String,
    failure: Failure,
}

enum Failure {
    /// The front end rejected the program (a generator or test bug).
    Invalid(String),
    /// A requested call names no function, or has the wrong number of
    /// arguments (a test bug).
    BadCall(String),
    /// The system refused memory for code or the JIT stack.
    System { side: Side, error: String },
    /// A back end panicked, while preparing or during a run.
    Panicked {
        side: Side,
        during: String,
        message: String,
    },
    /// The back ends gave different outcomes for one run.
    Differ {
        run: String,
        jit: String,
        interp: String,
    },
}

/// Compiles `source` and runs it on the JIT and on the reference
/// interpreter, which must agree.
///
/// First the top-level expressions run as the program would run them:
/// printing their values in order, stopping at the first runtime error.
/// Then each of `calls`, `(function index, arguments)`, runs on its own
/// (function indices count definitions in source order). The values
/// printed and returned, and any runtime error's kind, function and source
/// span, must be the same on both back ends.
pub fn agree(source: &str, calls: &[(usize, Vec<i64>)]) -> Result<Agreed, Disagreement> {
    let fail = |failure| Disagreement {
        source: source.to_string(),
        failure,
    };
    let checked = backends::check(source).map_err(|errors| fail(Failure::Invalid(errors)))?;
    let mut runs: Vec<Run> = checked
        .top_level()
        .iter()
        .enumerate()
        .map(|(index, &func)| Run {
            func,
            args: &[],
            top_level: Some(index),
        })
        .collect();
    for (func, args) in calls {
        match checked.params(*func) {
            Some(params) if params == args.len() => runs.push(Run {
                func: *func,
                args,
                top_level: None,
            }),
            Some(params) => {
                return Err(fail(Failure::BadCall(format!(
                    "function {func} has {params} parameters, called with {args:?}"
                ))));
            }
            None => return Err(fail(Failure::BadCall(format!("no function {func}")))),
        }
    }
    let jit = run_side(&checked, source, Side::Jit, &runs).map_err(fail)?;
    let interp = run_side(&checked, source, Side::Interp, &runs).map_err(fail)?;
    for (index, run) in runs.iter().enumerate() {
        let (by_jit, by_interp) = (jit[index].as_ref(), interp[index].as_ref());
        if by_jit != by_interp {
            let describe = |outcome: Option<&Outcome>| match outcome {
                Some(outcome) => outcome.describe(&checked, source),
                None => "(not run: the program had stopped)".to_string(),
            };
            return Err(fail(Failure::Differ {
                run: run.describe(&checked, source),
                jit: describe(by_jit),
                interp: describe(by_interp),
            }));
        }
    }
    let (top_level, calls) = interp.split_at(checked.top_level().len());
    let top_level = || top_level.iter().flatten();
    Ok(Agreed {
        printed: top_level().filter_map(Outcome::value).collect(),
        stopped_by: top_level().find_map(Outcome::error_kind),
        failed_calls: calls.iter().flatten().filter(|o| o.is_err()).count(),
    })
}

/// [`agree`], panicking with the report if the back ends do not agree.
pub fn assert_agree(source: &str, calls: &[(usize, Vec<i64>)]) -> Agreed {
    agree(source, calls).unwrap_or_else(|disagreement| panic!("{disagreement}"))
}

/// One call to make on each back end.
struct Run<'a> {
    func: usize,
    args: &'a [i64],
    /// Which top-level expression this is, if it is one.
    top_level: Option<usize>,
}

impl Run<'_> {
    fn describe(&self, checked: &Checked, source: &str) -> String {
        let name = checked.name(self.func).unwrap_or("?");
        match self.top_level {
            Some(index) => {
                let line = checked.line(self.func, source).unwrap_or(0);
                format!("top-level expression {} (line {line})", index + 1)
            }
            None => {
                let args: Vec<String> = self.args.iter().map(i64::to_string).collect();
                format!("the call {name}({})", args.join(", "))
            }
        }
    }
}

/// Prepares and makes every run on one back end: the top-level ones until
/// the first runtime error (those after it are not run: `None`), then the
/// rest. A panic becomes a failure that says where it happened.
fn run_side(
    checked: &Checked,
    source: &str,
    side: Side,
    runs: &[Run<'_>],
) -> Result<Vec<Option<Outcome>>, Failure> {
    // The run under way, if any (else the program is being prepared).
    let mut current = None;
    let result = panic::catch_unwind(AssertUnwindSafe(|| {
        let prepared: Prepared<'_> = checked.prepare(side)?;
        let mut outcomes = Vec::with_capacity(runs.len());
        let mut stopped = false;
        for run in runs {
            if stopped && run.top_level.is_some() {
                outcomes.push(None);
                continue;
            }
            current = Some(run);
            let outcome = prepared.call(run.func, run.args)?;
            stopped |= run.top_level.is_some() && outcome.is_err();
            outcomes.push(Some(outcome));
        }
        Ok::<_, std::io::Error>(outcomes)
    }));
    match result {
        Ok(Ok(outcomes)) => Ok(outcomes),
        Ok(Err(error)) => Err(Failure::System {
            side,
            error: error.to_string(),
        }),
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "(no message)".to_string());
            let during = match current {
                Some(run) => format!("running {}", run.describe(checked, source)),
                None => "preparing the program (code generation and loading)".to_string(),
            };
            Err(Failure::Panicked {
                side,
                during,
                message,
            })
        }
    }
}

impl fmt::Display for Disagreement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.failure {
            Failure::Invalid(errors) => {
                writeln!(f, "the program does not compile:\n{errors}")?;
            }
            Failure::BadCall(what) => writeln!(f, "bad call requested: {what}")?,
            Failure::System { side, error } => {
                writeln!(f, "{} back end: the system refused: {error}", side.name())?;
            }
            Failure::Panicked {
                side,
                during,
                message,
            } => writeln!(
                f,
                "the {} back end panicked while {during}: {message}",
                side.name()
            )?,
            Failure::Differ { run, jit, interp } => {
                writeln!(f, "the JIT and the interpreter disagree on {run}:")?;
                writeln!(f, "    jit:    {jit}")?;
                writeln!(f, "    interp: {interp}")?;
            }
        }
        writeln!(f, "in this program:")?;
        for (number, line) in self.source.lines().enumerate() {
            writeln!(f, "{:4} | {line}", number + 1)?;
        }
        Ok(())
    }
}

impl fmt::Debug for Disagreement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for Disagreement {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_the_error_that_stops_the_program_are_reported() {
        let source = "fn half(x) = x / 2\nfn div(x, y) = x / y\nhalf(7)\ndiv(1, 0)\nhalf(9)\n";
        let calls = [(0, vec![-9]), (1, vec![5, 0]), (1, vec![i64::MIN, -1])];
        let agreed = agree(source, &calls).unwrap();
        assert_eq!(
            agreed,
            Agreed {
                printed: vec![3],
                stopped_by: Some(ErrorKind::DivisionByZero),
                failed_calls: 1,
            }
        );
    }

    #[test]
    fn failures_are_reported_with_the_numbered_source() {
        let report = agree("fn f(x) = x +\n2 * y\n", &[])
            .unwrap_err()
            .to_string();
        assert!(
            report.starts_with("the program does not compile:"),
            "{report}"
        );
        assert!(report.contains("unknown name 'y'"), "{report}");
        assert!(
            report.ends_with("   1 | fn f(x) = x +\n   2 | 2 * y\n"),
            "{report}"
        );

        let report = agree("fn f(x) = x\n", &[(0, vec![])])
            .unwrap_err()
            .to_string();
        assert!(report.contains("function 0 has 1 parameters"), "{report}");
        let report = agree("fn f(x) = x\n", &[(3, vec![])])
            .unwrap_err()
            .to_string();
        assert!(report.contains("no function 3"), "{report}");
    }
}
