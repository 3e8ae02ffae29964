//! The reference interpreter: runs a checked [`ir::CheckedProgram`] by walking its
//! expressions, written for clarity rather than speed.
//!
//! It is the second opinion the JIT is tested against (`--backend=interp`,
//! the differential tests and the fuzzers), so it implements the language's
//! semantics directly: operators through [`BinOp::apply`] and
//! [`UnOp::apply`], operands left to right, `&&`/`||` short-circuit, calls in
//! tail position reuse the caller's frame, and the same [`Fault`]s
//! with the same locations as the JIT.
//!
//! It never recurses on the Rust stack: evaluation is a loop over an explicit
//! stack of `Step`s, values and call frames, all on the heap. Those stacks
//! together may hold [`STACK_BUDGET`] bytes, the size of the JIT's stack;
//! a call that would need more is a `stack overflow` error, as on the JIT.
//! So both back ends stop a runaway recursion at a comparable depth (a
//! frame here costs about as much as the JIT's: its locals plus a few dozen
//! bytes) and in bounded memory however many locals a function has.

use std::sync::atomic::Ordering;

use crate::abi::StackContext;
use crate::ast::{BinOp, Span, UnOp};
use crate::fault::Fault;
use crate::ir::{self, CompactSpan, Expr, FuncId, GlobalId, Kind, LocalId, NodeId};
use crate::jit::runtime::LimitInterrupt;

/// The most memory the interpreter's stacks (steps, values, locals and
/// frames) may hold: the JIT's stack size.
pub const STACK_BUDGET: usize = crate::abi::STACK_SIZE;

/// How many steps run between two looks at the interrupt flag.
const INTERRUPT_POLL_INTERVAL: u32 = 1 << 12;

/// Calls function `func` of `program` with `args` (which must match its
/// arity); `interrupt`, if given, can stop the call from another thread or a
/// signal handler.
///
/// # Panics
/// If `func` is out of range or `args` has the wrong length (bugs in the
/// caller, which knows the signatures).
pub fn call(
    program: &ir::CheckedProgram,
    func: FuncId,
    args: &[i64],
    interrupt: Option<&LimitInterrupt>,
) -> Result<i64, Fault> {
    call_with_budget(program, func, args, interrupt, STACK_BUDGET)
}

/// Where a REPL session's function table points: the program (an entry)
/// holding the current definition of a function and its index there, or
/// `None` while it is not defined yet.
pub type Linker<'p> = dyn Fn(GlobalId) -> Option<(&'p ir::CheckedProgram, FuncId)> + 'p;

/// Like [`call`], for a program of a REPL session whose calls go by the
/// session's function table, which `link` reads (every call: a later entry
/// may have replaced even a function of the caller's own entry). On an
/// error, also the program whose function the [`Fault`] names.
pub fn call_linked<'p>(
    program: &'p ir::CheckedProgram,
    func: FuncId,
    args: &[i64],
    interrupt: Option<&LimitInterrupt>,
    link: &'p Linker<'p>,
) -> Result<i64, (Fault, &'p ir::CheckedProgram)> {
    let mut machine = Machine::new(program, func, STACK_BUDGET);
    machine.link = Some(link);
    let result = machine.run_interruptibly(func, args, interrupt);
    result.map_err(|fault| (fault, machine.program))
}

/// [`call`], with the stacks bounded to `budget` bytes.
pub(crate) fn call_with_budget(
    program: &ir::CheckedProgram,
    func: FuncId,
    args: &[i64],
    interrupt: Option<&LimitInterrupt>,
    budget: usize,
) -> Result<i64, Fault> {
    assert_eq!(
        args.len(),
        program.funcs[func].arity,
        "wrong number of arguments"
    );
    Machine::new(program, func, budget).run_interruptibly(func, args, interrupt)
}

/// One pending piece of work, done when the expression being evaluated
/// has pushed its value onto [`Machine::values`]. Expressions are nodes of
/// the body of the function running when the step runs (the one that
/// pushed it).
#[derive(Copy, Clone, Debug)]
enum Step {
    /// Evaluate an expression (a later operand or argument).
    Eval(NodeId),
    /// Pop an operand, push the operator's result.
    Unary(UnOp),
    /// Pop the right then the left operand, push the result (or trap on a
    /// division by zero at `op_span`).
    Binary(BinOp, CompactSpan),
    /// Pop the left operand of `&&`/`||`: if it decides the result push
    /// that, else evaluate `rhs` and push its truth.
    ShortCircuit(BinOp, NodeId),
    /// Pop a value, push 1 if it is non-zero, else 0.
    Truth,
    /// Pop the condition and evaluate the branch it picks.
    Branch {
        then_branch: NodeId,
        else_branch: NodeId,
    },
    /// Pop the value of a `let`, store it in `local`, evaluate `body`.
    Bind { local: u32, body: NodeId },
    /// Pop `func`'s arguments and enter it (called at the span).
    Call(u32, CompactSpan),
    /// Leave the current function; its value stays on the value stack.
    Return,
}

/// A function being run.
struct Frame<'p> {
    /// The program (a REPL entry) the function belongs to.
    program: &'p ir::CheckedProgram,
    func: FuncId,
    /// Where its locals start in [`Machine::locals`].
    locals_base: usize,
}

/// The interpreter's state: everything the JIT keeps on its stack.
struct Machine<'p> {
    /// The program of the running function.
    program: &'p ir::CheckedProgram,
    /// Where a REPL session's calls go ([`call_linked`]).
    link: Option<&'p Linker<'p>>,
    steps: Vec<Step>,
    values: Vec<i64>,
    locals: Vec<i64>,
    frames: Vec<Frame<'p>>,
    /// The body of the function running (the top frame's).
    body: &'p ir::Body,
    /// Bytes the four stacks may hold together ([`STACK_BUDGET`]).
    budget: usize,
}

impl<'p> Machine<'p> {
    /// A machine about to call `func` of `program`.
    fn new(program: &'p ir::CheckedProgram, func: FuncId, budget: usize) -> Machine<'p> {
        Machine {
            program,
            link: None,
            steps: Vec::new(),
            values: Vec::new(),
            locals: Vec::new(),
            frames: Vec::new(),
            body: &program.funcs[func].body,
            budget,
        }
    }

    /// [`Self::run`], stopped early if `interrupt` is requested.
    fn run_interruptibly(
        &mut self,
        func: FuncId,
        args: &[i64],
        interrupt: Option<&LimitInterrupt>,
    ) -> Result<i64, Fault> {
        // The interrupt mechanism raises the limit of a running context;
        // the interpreter owns one just to be told. Only its atomic
        // `limit` is ever written, through a shared reference.
        let context = StackContext::default();
        let context_ptr = std::ptr::from_ref(&context).cast_mut();
        if let Some(interrupt) = interrupt {
            interrupt.begin(context_ptr);
        }
        let result = self.run(func, args, || {
            context.limit.load(Ordering::Relaxed) == u64::MAX
        });
        if let Some(interrupt) = interrupt {
            interrupt.end(context_ptr);
        }
        result
    }

    /// Runs until the call of `func` has returned. Each turn either
    /// evaluates the expression in `next` (which pushes the steps that
    /// finish it and names its first operand as the new `next`) or, when
    /// there is none, does the top step (which may name a `next`). Keeping
    /// the next expression out of `steps` spares a push and a pop per node.
    fn run(
        &mut self,
        func: FuncId,
        args: &[i64],
        interrupted: impl Fn() -> bool,
    ) -> Result<i64, Fault> {
        self.values.extend_from_slice(args);
        let mut next = self.enter(func, Span::default())?;
        let mut until_poll = INTERRUPT_POLL_INTERVAL;
        loop {
            next = match next {
                Some(expr) => self.eval(expr)?,
                None => match self.steps.pop() {
                    Some(step) => self.step(step)?,
                    None => break,
                },
            };
            until_poll -= 1;
            if until_poll == 0 {
                until_poll = INTERRUPT_POLL_INTERVAL;
                if interrupted() {
                    return Err(Fault::Interrupted);
                }
            }
        }
        debug_assert_eq!(self.values.len(), 1, "a call leaves exactly its value");
        Ok(self.pop())
    }

    fn pop(&mut self) -> i64 {
        self.values.pop().expect("value stack underflow")
    }

    fn current_frame(&self) -> &Frame<'p> {
        self.frames.last().expect("no function is running")
    }

    /// Does one step; returns the expression to evaluate next, if any.
    fn step(&mut self, step: Step) -> Result<Option<Expr<'p>>, Fault> {
        match step {
            Step::Eval(expr) => return Ok(Some(self.body.at(expr))),
            Step::Unary(op) => {
                let operand = self.pop();
                self.values.push(op.apply(operand));
            }
            Step::Binary(op, op_span) => {
                let rhs = self.pop();
                let lhs = self.pop();
                let value = op.apply(lhs, rhs).ok_or(Fault::DivisionByZero {
                    func: self.current_frame().func,
                    span: op_span.into(),
                })?;
                self.values.push(value);
            }
            Step::ShortCircuit(op, rhs) => {
                let lhs = self.pop() != 0;
                // `a || b` is decided by a true `a`, `a && b` by a false one.
                if lhs == (op == BinOp::Or) {
                    self.values.push(i64::from(lhs));
                } else {
                    self.steps.push(Step::Truth);
                    return Ok(Some(self.body.at(rhs)));
                }
            }
            Step::Truth => {
                let value = self.pop();
                self.values.push(i64::from(value != 0));
            }
            Step::Branch {
                then_branch,
                else_branch,
            } => {
                let taken = if self.pop() != 0 {
                    then_branch
                } else {
                    else_branch
                };
                return Ok(Some(self.body.at(taken)));
            }
            Step::Bind { local, body } => {
                let value = self.pop();
                let slot = self.current_frame().locals_base + local as LocalId;
                self.locals[slot] = value;
                return Ok(Some(self.body.at(body)));
            }
            Step::Call(func, span) => return self.enter(func as FuncId, span.into()),
            Step::Return => {
                let frame = self.frames.pop().expect("return without a frame");
                self.locals.truncate(frame.locals_base);
                if let Some(caller) = self.frames.last() {
                    self.program = caller.program;
                    self.body = &self.program.funcs[caller.func].body;
                }
            }
        }
        Ok(None)
    }

    /// Starts evaluating `expr`: pushes its value if it is
    /// [`Self::simple_value`], else the steps that finish it (in reverse
    /// order of execution). Returns the operand to evaluate first, if any.
    fn eval(&mut self, expr: Expr<'p>) -> Result<Option<Expr<'p>>, Fault> {
        if let Some(value) = self.simple_value(expr)? {
            self.values.push(value);
            return Ok(None);
        }
        Ok(match *expr.node() {
            ir::Node::Int(_) | ir::Node::Local(_) => unreachable!("leaves are simple values"),
            ir::Node::Unary { op, operand } => {
                self.steps.push(Step::Unary(op));
                Some(self.body.at(operand))
            }
            ir::Node::Binary {
                op: op @ (BinOp::And | BinOp::Or),
                lhs,
                rhs,
                ..
            } => {
                self.steps.push(Step::ShortCircuit(op, rhs));
                Some(self.body.at(lhs))
            }
            ir::Node::Binary { op, lhs, rhs, .. } => {
                let Kind::Binary { op_span, .. } = expr.kind() else {
                    unreachable!("a binary operation")
                };
                self.steps.push(Step::Binary(op, op_span.into()));
                self.steps.push(Step::Eval(rhs));
                Some(self.body.at(lhs))
            }
            ir::Node::If { .. } => {
                let Kind::If {
                    cond,
                    then_branch,
                    else_branch,
                    ..
                } = expr.kind()
                else {
                    unreachable!("an if")
                };
                self.steps.push(Step::Branch {
                    then_branch: then_branch.id(),
                    else_branch: else_branch.id(),
                });
                Some(cond)
            }
            ir::Node::Let { local, value, body } => {
                self.steps.push(Step::Bind { local, body });
                Some(self.body.at(value))
            }
            ir::Node::Call { .. } => {
                let Kind::Call { func, args, span } = expr.kind() else {
                    unreachable!("a call")
                };
                // Arguments are evaluated left to right onto the value
                // stack; the leading leaves (often all of them) at once.
                let first_pending = args.iter().position(|arg| !arg.is_leaf());
                for arg in args.iter().take(first_pending.unwrap_or(args.len())) {
                    let value = self.simple_value(arg)?.expect("a leaf has a value");
                    self.values.push(value);
                }
                let Some(first_pending) = first_pending else {
                    return self.enter(func, span);
                };
                // Function indexes fit in 32 bits (as in the IR's nodes).
                self.steps.push(Step::Call(func as u32, span.into()));
                self.steps.extend(
                    args.iter()
                        .skip(first_pending + 1)
                        .rev()
                        .map(|arg| Step::Eval(arg.id())),
                );
                args.get(first_pending)
            }
        })
    }

    /// The value of a leaf, or of an operator applied directly to leaves,
    /// computed at once; `None` for anything else. Only a shortcut: the
    /// result is what the steps would compute (the operands are leaves, so
    /// their order cannot be observed), but most evaluation in a loop ends
    /// up here instead of in several steps.
    fn simple_value(&self, expr: Expr<'p>) -> Result<Option<i64>, Fault> {
        let leaf = |expr: Expr<'p>| match expr.kind() {
            Kind::Int(value) => Some(value),
            Kind::Local(local) => Some(self.locals[self.current_frame().locals_base + local]),
            _ => None,
        };
        Ok(match expr.kind() {
            Kind::Int(_) | Kind::Local(_) => leaf(expr),
            Kind::Unary { op, operand } => leaf(operand).map(|operand| op.apply(operand)),
            Kind::Binary {
                op,
                op_span,
                lhs,
                rhs,
            } => match (leaf(lhs), leaf(rhs)) {
                (Some(lhs), Some(rhs)) => {
                    let value = op.apply(lhs, rhs).ok_or(Fault::DivisionByZero {
                        func: self.current_frame().func,
                        span: op_span,
                    })?;
                    Some(value)
                }
                _ => None,
            },
            _ => None,
        })
    }

    /// The bytes in use on the four stacks (what the JIT would have on its
    /// stack: frames, locals, pending operands and return points).
    fn stack_bytes(&self) -> usize {
        use std::mem::size_of;
        self.steps.len() * size_of::<Step>()
            + self.values.len() * size_of::<i64>()
            + self.locals.len() * size_of::<i64>()
            + self.frames.len() * size_of::<Frame>()
    }

    /// The bytes a new frame with `locals` locals adds: its locals, its
    /// frame record and its return step.
    fn frame_bytes(locals: usize) -> usize {
        use std::mem::size_of;
        locals * size_of::<i64>() + size_of::<Frame>() + size_of::<Step>()
    }

    /// Enters `func`, whose arguments are on top of the value stack, and
    /// returns its body to evaluate. A call whose next step is the caller's
    /// own `Return` is a tail call: the callee takes over the caller's
    /// frame, so tail recursion runs in constant space, as in the JIT.
    fn enter(&mut self, func: FuncId, span: Span) -> Result<Option<Expr<'p>>, Fault> {
        let (program, func) = self.resolve(func, span)?;
        // Faults from here on are the callee's, in its program.
        self.program = program;
        let callee = &program.funcs[func];
        let is_tail_call = matches!(self.steps.last(), Some(Step::Return));
        if is_tail_call {
            let frame = self.frames.pop().expect("tail call without a frame");
            self.locals.truncate(frame.locals_base);
        } else if self.stack_bytes() + Self::frame_bytes(callee.locals) > self.budget {
            return Err(Fault::StackOverflow {
                func,
                name: callee.name.clone(),
                span: callee.name_span,
            });
        } else {
            self.steps.push(Step::Return);
        }
        let locals_base = self.locals.len();
        let args_start = self.values.len() - callee.arity;
        self.locals.extend_from_slice(&self.values[args_start..]);
        self.values.truncate(args_start);
        self.locals.resize(locals_base + callee.locals, 0);
        self.frames.push(Frame {
            program,
            func,
            locals_base,
        });
        self.body = &callee.body;
        Ok(Some(callee.root()))
    }

    /// The program and index of the code that a call of `func` (of the
    /// running program, at `span`) runs: in a session, the current
    /// definition, found through the linker.
    fn resolve(
        &self,
        func: FuncId,
        span: Span,
    ) -> Result<(&'p ir::CheckedProgram, FuncId), Fault> {
        let program = self.program;
        let Some(id) = program.funcs[func].link.id() else {
            return Ok((program, func));
        };
        let Some(link) = self.link else {
            return Ok((program, func));
        };
        link(id).ok_or_else(|| Fault::UndefinedFunction {
            func: self.current_frame().func,
            name: program.funcs[func].name.clone(),
            span,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{self, Timings};

    fn checked(source: &str) -> ir::CheckedProgram {
        pipeline::front_end(source, &mut Timings::default()).expect("program checks")
    }

    /// Runs every top-level expression, stopping at the first error.
    fn run(source: &str) -> Result<Vec<i64>, Fault> {
        let program = checked(source);
        let values = program
            .top_level
            .iter()
            .map(|&func| call(&program, func, &[], None));
        values.collect()
    }

    #[test]
    fn operators_follow_the_language() {
        assert_eq!(
            run("7 / -2; -7 % 2; 1 << 65; -16 >> 2; 0x7fffffffffffffff + 1; !0; ~0").unwrap(),
            [-3, -1, 2, -4, i64::MIN, 1, -1]
        );
        assert_eq!(
            run("(0 - 0x7fffffffffffffff - 1) / -1").unwrap(),
            [i64::MIN]
        );
    }

    #[test]
    fn logic_short_circuits() {
        assert_eq!(
            run("0 && 1 / 0; 1 || 1 / 0; 2 && 3; 0 || 0").unwrap(),
            [0, 1, 1, 0]
        );
    }

    #[test]
    fn division_by_zero_names_the_function_and_operator() {
        let source = "fn f(x) = 10 / x\nfn g(x) = f(x) + 1\ng(0)";
        let error = run(source).unwrap_err();
        let Fault::DivisionByZero { func, span } = error else {
            panic!("{error:?}")
        };
        assert_eq!(checked(source).funcs[func].name, "f");
        assert_eq!(&source[span.start..span.end], "/");
    }

    #[test]
    fn tail_calls_run_in_constant_space() {
        // Far more iterations than a small budget has room for frames.
        let program = checked(
            "fn count(n, acc) = if n == 0 then acc else count(n - 1, acc + 1)\n\
             count(1000000, 0)",
        );
        let result = call_with_budget(&program, program.top_level[0], &[], None, 4096);
        assert_eq!(result, Ok(1_000_000));
    }

    #[test]
    fn deep_recursion_is_a_stack_overflow_not_a_crash() {
        assert_eq!(
            run("fn depth(n) = if n == 0 then 0 else 1 + depth(n - 1)\ndepth(1000000)").unwrap(),
            [1_000_000]
        );
        let error =
            run("fn ok(n) = n\nfn forever(n) = 1 + forever(n + 1)\nforever(0)").unwrap_err();
        assert!(
            matches!(&error, Fault::StackOverflow { name, .. } if name == "forever"),
            "{error:?}"
        );
    }

    #[test]
    fn the_budget_bounds_frames_by_bytes_not_by_count() {
        let locals = |count: usize| {
            let lets: String = (0..count).map(|i| format!("let a{i} = n in ")).collect();
            checked(&format!(
                "fn f(n) = if n == 0 then 0 else {lets}1 + f(n - 1)\nf(100000)"
            ))
        };
        let depth_reached = |program: &ir::CheckedProgram| {
            // The deepest call that still returns, found by bisection.
            let f = program.funcs.iter().position(|f| f.name == "f").unwrap();
            let (mut ok, mut overflows) = (0, 100_000);
            while overflows - ok > 1 {
                let mid = (ok + overflows) / 2;
                match call_with_budget(program, f, &[mid], None, 1 << 20) {
                    Ok(_) => ok = mid,
                    Err(Fault::StackOverflow { .. }) => overflows = mid,
                    Err(error) => panic!("{error:?}"),
                }
            }
            ok
        };
        let few = depth_reached(&locals(1));
        let many = depth_reached(&locals(200));
        // 1 MiB holds about 1 MiB / (200 * 8 bytes) frames of 200 locals.
        assert!((500..700).contains(&many), "{many}");
        assert!(few > 10 * many, "{few} vs {many}");
    }

    #[test]
    fn an_interrupt_stops_an_endless_loop() {
        let program = checked("fn spin(n) = spin(n + 1)\nspin(0)");
        let interrupt = LimitInterrupt::new();
        let result = std::thread::scope(|scope| {
            let running =
                scope.spawn(|| call(&program, program.top_level[0], &[], Some(&interrupt)));
            // Keep asking until the call has started and sees the request.
            while !running.is_finished() {
                interrupt.request();
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            running.join().unwrap()
        });
        assert_eq!(result, Err(Fault::Interrupted));
    }
}
