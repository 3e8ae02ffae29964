//! exprjit as a library: compile a formula once, call it many times.
//!
//! ```
//! # fn main() -> Result<(), exprjit::Error> {
//! let program = exprjit::compile("fn score(a, b) = a * 3 + b")?;
//! let score = program.func::<2>("score")?;
//! assert_eq!(score.call([4, 5])?, 17);
//! assert_eq!(exprjit::eval("1 + 2 * 3")?, 7);
//! # Ok(())
//! # }
//! ```
//!
//! [`compile`] runs the whole pipeline (the same as the command line's) and
//! maps the machine code into memory; [`Program::func`] checks a function's
//! name and number of parameters once and returns a [`Func`] handle whose
//! [`Func::call`] needs no further checks. Every error is a value that
//! renders like the command line's diagnostics: [`CompileError`],
//! [`LookupError`], [`RuntimeError`], and [`Error`] for any of them.
//!
//! # Threads
//!
//! A [`Program`] is `Send` and `Sync`: its code is immutable once mapped, and
//! each thread runs JIT code on its own stack (made on the thread's first
//! call and kept until the thread exits), so any number of threads may call
//! the same [`Func`] at once. An [`Interrupt`] is `Sync` too, so one thread
//! can stop a long call running on another.
//!
//! Everything in this module is safe to call: a handle borrows its program,
//! so the code cannot be unmapped while a handle exists, and arguments are
//! arrays of exactly the function's arity.

#![warn(missing_docs)]

use std::fmt;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, PoisonError, mpsc};

use crate::ast::Span;
mod config;

use crate::diag::Diagnostic as InternalDiagnostic;
pub use crate::diag::ErrorCode;
use crate::diag::{Diagnostics, SourceFile};
use crate::ir::FuncId;
use crate::{jit, pipeline, suggest};
pub use config::{Config, compile_with};

mod batch;
mod diagnostic;
mod dynamic;

pub use diagnostic::{Diagnostic, Related};
pub use dynamic::DynFunc;

/// The name diagnostics give a source passed to [`compile`] or [`eval`].
///
/// ```
/// let error = exprjit::compile("1 / ").unwrap_err();
/// assert!(error.to_string().contains(exprjit::DEFAULT_SOURCE_NAME));
/// ```
pub const DEFAULT_SOURCE_NAME: &str = "<source>";

/// Sources longer than this are compiled on the helper thread with a large
/// stack ([`compile_on_helper`]): the compiler's later stages recurse once
/// per nesting level, and a short source cannot nest deeply enough to
/// matter. 127 levels (the most this allows) fit in 256 KiB of stack even
/// unoptimised (opt-level 0, as in a dependent crate's debug build; 255
/// levels overflowed 256 KiB there); the test
/// `sources_compiled_inline_fit_a_small_thread_stack` keeps it so.
const INLINE_COMPILE_LIMIT: usize = 128;

/// Compiles `source` (definitions and top-level expressions, as in a file
/// given to the command line) into machine code. Top-level expressions are
/// checked and compiled but not run; [`eval`] runs them.
///
/// All errors are reported at once, in source order. Short sources are
/// compiled on the calling thread, which needs about 256 KiB of free stack;
/// longer ones on a helper thread with a large stack, one at a time.
///
/// ```
/// let program = exprjit::compile("fn double(x) = 2 * x").unwrap();
/// assert_eq!(program.func::<1>("double").unwrap().call([21]).unwrap(), 42);
///
/// let error = exprjit::compile("fn f(x) = x +").unwrap_err();
/// assert!(error.to_string().contains("error[E0005]"));
/// ```
pub fn compile(source: &str) -> Result<Program, CompileError> {
    compile_named(DEFAULT_SOURCE_NAME, source)
}

/// Like [`compile`], naming the source `name` in diagnostics (a file name,
/// or something like `<rule 12>`).
///
/// ```
/// let error = exprjit::compile_named("rules.ex", "fn f(x) = y").unwrap_err();
/// assert!(error.to_string().contains("rules.ex:1:11"));
/// ```
pub fn compile_named(name: &str, source: &str) -> Result<Program, CompileError> {
    compile_named_with(name, source, false)
}

/// [`compile_named`], with debug info if `debug_info` (see
/// [`Config::with_debug_info`]).
fn compile_named_with(name: &str, source: &str, debug_info: bool) -> Result<Program, CompileError> {
    let file = Arc::new(SourceFile::new(name, source));
    if source.len() <= INLINE_COMPILE_LIMIT {
        compile_file(file, debug_info)
    } else {
        compile_on_helper(file, debug_info)
    }
}

/// A compile job for the helper thread, with where to send the outcome (or
/// the compiler's panic, to be resumed on the caller's thread).
struct Job {
    file: Arc<SourceFile>,
    debug_info: bool,
    reply: mpsc::Sender<std::thread::Result<Result<Program, CompileError>>>,
}

/// The helper thread's job queue; `None` until the first long source.
static HELPER: Mutex<Option<mpsc::Sender<Job>>> = Mutex::new(None);

/// Compiles `file` on the helper thread, whose stack
/// ([`pipeline::COMPILER_STACK_SIZE`]) fits the deepest nesting the
/// compiler accepts. The thread is started once and kept: in a release
/// build on the (busy, 2-CPU) development machine, a fresh thread per
/// compile took about 2.5 ms against 25 µs for compiling a short formula
/// inline; handing the job to the kept thread takes about 170 µs.
fn compile_on_helper(file: Arc<SourceFile>, debug_info: bool) -> Result<Program, CompileError> {
    let (reply, outcome) = mpsc::channel();
    let mut job = Job {
        file: Arc::clone(&file),
        debug_info,
        reply,
    };
    {
        let mut helper = HELPER.lock().unwrap_or_else(PoisonError::into_inner);
        // A second try covers a helper that has gone (it never exits while
        // its queue is open, but a failed send must not lose the job).
        for _ in 0..2 {
            let queue = match helper.as_ref() {
                Some(queue) => queue.clone(),
                None => match start_helper() {
                    Ok(queue) => helper.insert(queue).clone(),
                    Err(error) => {
                        return Err(CompileError::system(
                            file,
                            format!("cannot start the compiler thread: {error}"),
                        ));
                    }
                },
            };
            match queue.send(job) {
                Ok(()) => break,
                Err(mpsc::SendError(unsent)) => {
                    job = unsent;
                    *helper = None;
                }
            }
        }
    }
    match outcome.recv() {
        Ok(Ok(result)) => result,
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(mpsc::RecvError) => Err(CompileError::system(
            file,
            "the compiler thread stopped".to_owned(),
        )),
    }
}

/// The parameter names of a signature as the checker writes it,
/// `name(p1, p2)` (names contain neither parentheses nor commas).
fn params_of(signature: &str) -> Vec<String> {
    let inside = signature
        .split_once('(')
        .and_then(|(_, rest)| rest.strip_suffix(')'))
        .unwrap_or_default();
    inside
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
        .collect()
}

fn start_helper() -> std::io::Result<mpsc::Sender<Job>> {
    let (queue, jobs) = mpsc::channel::<Job>();
    std::thread::Builder::new()
        .name("exprjit-compile".into())
        .stack_size(pipeline::COMPILER_STACK_SIZE)
        .spawn(move || {
            for job in jobs {
                let (file, debug_info) = (job.file, job.debug_info);
                let outcome =
                    std::panic::catch_unwind(AssertUnwindSafe(|| compile_file(file, debug_info)));
                // The caller may have gone; nothing to do then.
                let _ = job.reply.send(outcome);
            }
        })?;
    Ok(queue)
}

fn compile_file(file: Arc<SourceFile>, debug_info: bool) -> Result<Program, CompileError> {
    let mut timings = pipeline::Timings::default();
    let program = match pipeline::front_end(&file.text, &mut timings) {
        Ok(program) => program,
        Err(diagnostics) => return Err(CompileError::from_diagnostics(file, diagnostics)),
    };
    let sources = debug_info.then(|| crate::debuginfo::Sources {
        files: vec![(file.name.as_str(), file.text.as_str())],
        func_file: Vec::new(),
    });
    let loaded = match pipeline::back_end_with(&program, true, sources.as_ref(), &mut timings) {
        Ok(loaded) => loaded,
        Err(error) => {
            return Err(CompileError::system(
                file,
                format!("cannot map executable memory: {error}"),
            ));
        }
    };
    let mut is_top_level = vec![false; program.funcs.len()];
    for &id in &program.top_level {
        is_top_level[id] = true;
    }
    let functions = program
        .funcs
        .iter()
        .enumerate()
        .filter(|&(id, _)| !is_top_level[id])
        .map(|(id, func)| FunctionInfo {
            id,
            name: func.name.clone(),
            arity: func.arity,
            signature: func.signature.clone(),
            params: params_of(&func.signature),
            name_span: func.name_span,
        })
        .collect();
    Ok(Program {
        loaded,
        file,
        functions,
    })
}

/// Compiles `source` and evaluates its top-level expressions in order,
/// returning the last one's value. Definitions may come first.
///
/// ```
/// assert_eq!(exprjit::eval("1 + 2 * 3").unwrap(), 7);
/// assert_eq!(exprjit::eval("fn sq(x) = x * x; sq(12)").unwrap(), 144);
///
/// let error = exprjit::eval("10 / (5 - 5)").unwrap_err();
/// assert_eq!(error.code(), exprjit::ErrorCode::DivisionByZero);
/// ```
pub fn eval(source: &str) -> Result<i64, Error> {
    let program = compile(source)?;
    if program.loaded.top_level_count() == 0 {
        let end = source.len();
        let nothing = InternalDiagnostic::new(
            ErrorCode::NothingToEvaluate,
            "nothing to evaluate",
            Span::new(end, end),
        )
        .with_label("expected an expression")
        .with_help("eval returns the value of the last top-level expression");
        return Err(Error::Compile(CompileError::from_diagnostics(
            program.file,
            nothing.into(),
        )));
    }
    let mut last = 0;
    for index in 0..program.loaded.top_level_count() {
        let result = program.loaded.run_top_level(index, None);
        last = program.runtime_result(result)?;
    }
    Ok(last)
}

/// A compiled program: its functions' machine code, mapped executable.
///
/// Get a callable handle with [`Program::func`]. Dropping the program
/// unmaps its code; the borrow checker makes sure no handle outlives it.
///
/// ```
/// let program = exprjit::compile("fn clamp(x, lo, hi) = if x < lo then lo else if x > hi then hi else x").unwrap();
/// let clamp = program.func::<3>("clamp").unwrap();
/// assert_eq!(clamp.call([15, 0, 10]), Ok(10));
/// drop(program); // unmaps the code (`clamp` can no longer be used)
/// ```
///
/// ```compile_fail
/// let score = {
///     let program = exprjit::compile("fn score(a, b) = a + b").unwrap();
///     program.func::<2>("score").unwrap()
/// }; // error: `program` does not live long enough
/// ```
pub struct Program {
    loaded: jit::LoadedProgram,
    file: Arc<SourceFile>,
    /// The user's functions (not the top-level expressions), in definition
    /// order.
    functions: Vec<FunctionInfo>,
}

/// What [`Program::functions`] tells about one function.
///
/// ```
/// let program = exprjit::compile("fn area(w, h) = w * h").unwrap();
/// let info = &program.functions()[0];
/// assert_eq!((info.name(), info.arity()), ("area", 2));
/// ```
#[derive(Clone, Debug)]
pub struct FunctionInfo {
    id: FuncId,
    name: String,
    arity: usize,
    signature: String,
    /// The parameter names, in order.
    params: Vec<String>,
    name_span: Span,
}

impl FunctionInfo {
    /// The function's name.
    ///
    /// ```
    /// let program = exprjit::compile("fn f(x) = x").unwrap();
    /// assert_eq!(program.functions()[0].name(), "f");
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How many parameters it takes.
    ///
    /// ```
    /// let program = exprjit::compile("fn f(x, y) = x").unwrap();
    /// assert_eq!(program.functions()[0].arity(), 2);
    /// ```
    pub fn arity(&self) -> usize {
        self.arity
    }

    /// The signature as written: name and parameter names.
    ///
    /// ```
    /// let program = exprjit::compile("fn score(a, b) = a + b").unwrap();
    /// assert_eq!(program.functions()[0].signature(), "score(a, b)");
    /// ```
    pub fn signature(&self) -> &str {
        &self.signature
    }
}

impl fmt::Debug for Program {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Program")
            .field("source", &self.file.name)
            .field("functions", &self.functions)
            .finish_non_exhaustive()
    }
}

impl Program {
    /// A handle to the function `name`, which must take `N` parameters.
    /// The name and arity are checked here, once, so that calls through the
    /// handle need no checks.
    ///
    /// ```
    /// # fn main() -> Result<(), exprjit::Error> {
    /// let program = exprjit::compile("fn fib(n) = if n < 2 then n else fib(n - 1) + fib(n - 2)")?;
    /// let fib = program.func::<1>("fib")?;
    /// assert_eq!(fib.call([20])?, 6765);
    ///
    /// let typo = program.func::<1>("fbi").unwrap_err();
    /// assert_eq!(typo.to_string(), "no function 'fbi' in <source>; did you mean 'fib'?");
    /// let arity = program.func::<2>("fib").unwrap_err();
    /// assert_eq!(arity.code(), exprjit::ErrorCode::ArityMismatch);
    /// # Ok(())
    /// # }
    /// ```
    pub fn func<const N: usize>(&self, name: &str) -> Result<Func<'_, N>, LookupError> {
        let (info, function) = self.lookup(name)?;
        if info.arity != N {
            let (line, col) = self.file.line_col(info.name_span.start);
            return Err(LookupError {
                name: name.to_owned(),
                source_name: self.file.name.clone(),
                problem: LookupProblem::WrongArity {
                    requested: N,
                    arity: info.arity,
                    signature: info.signature.clone(),
                    line,
                    col,
                },
            });
        }
        Ok(Func {
            program: self,
            info,
            function,
        })
    }

    /// The function `name` and its code, or the error that names the
    /// nearest function when there is none.
    fn lookup(&self, name: &str) -> Result<(&FunctionInfo, jit::Function<'_>), LookupError> {
        let Some(info) = self.functions.iter().find(|info| info.name == name) else {
            let names = self.functions.iter().map(|info| info.name.as_str());
            return Err(LookupError {
                name: name.to_owned(),
                source_name: self.file.name.clone(),
                problem: LookupProblem::NotFound {
                    suggestion: suggest::closest(name, names).map(str::to_owned),
                },
            });
        };
        let function = self
            .loaded
            .function(info.id)
            .expect("every listed function has code");
        Ok((info, function))
    }

    /// Every function the program defines, in definition order.
    ///
    /// ```
    /// let program = exprjit::compile("fn a(x) = x\nfn b(x, y) = x").unwrap();
    /// let signatures: Vec<&str> = program.functions().iter().map(|f| f.signature()).collect();
    /// assert_eq!(signatures, ["a(x)", "b(x, y)"]);
    /// ```
    pub fn functions(&self) -> &[FunctionInfo] {
        &self.functions
    }

    /// Turns the result of a call into the API's error type (the source is
    /// shared only when there is an error, keeping calls cheap).
    #[inline(always)]
    fn runtime_result(
        &self,
        result: std::io::Result<Result<i64, jit::Fault>>,
    ) -> Result<i64, RuntimeError> {
        match result {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(self.runtime_error(Cause::Trap(error))),
            Err(error) => Err(self.runtime_error(Cause::OutOfMemory(format!(
                "cannot allocate the JIT stack: {error}"
            )))),
        }
    }

    /// The result of a call whose quick path missed (a trap, or a call
    /// that must be made the slow way); out of line, so that only the
    /// value path is inlined into the caller.
    #[cold]
    #[inline(never)]
    fn after_miss(
        &self,
        function: &jit::Function<'_>,
        args: &[i64],
        miss: jit::Miss,
    ) -> Result<i64, RuntimeError> {
        self.runtime_result(function.after_miss(args, miss))
    }

    #[cold]
    #[inline(never)]
    fn runtime_error(&self, cause: Cause) -> RuntimeError {
        RuntimeError {
            file: Arc::clone(&self.file),
            cause,
            row: None,
        }
    }
}

/// A function of `N` parameters in a [`Program`], checked and ready to call.
///
/// It borrows the program, so it cannot outlive the code it calls; it is
/// `Copy`, `Send` and `Sync`, so threads can share it.
///
/// ```
/// let program = exprjit::compile("fn twice(x) = 2 * x").unwrap();
/// let twice = program.func::<1>("twice").unwrap();
/// let results: Vec<i64> = std::thread::scope(|scope| {
///     let workers: Vec<_> = (0..4).map(|i| scope.spawn(move || twice.call([i]).unwrap())).collect();
///     workers.into_iter().map(|w| w.join().unwrap()).collect()
/// });
/// assert_eq!(results, [0, 2, 4, 6]);
/// ```
///
/// The number of arguments is part of the type, so a call with the wrong
/// number does not compile:
///
/// ```compile_fail
/// let program = exprjit::compile("fn twice(x) = 2 * x").unwrap();
/// let twice = program.func::<1>("twice").unwrap();
/// twice.call([1, 2]); // error: expected an array of 1 element
/// ```
pub struct Func<'p, const N: usize> {
    program: &'p Program,
    info: &'p FunctionInfo,
    /// The machine code's entry, looked up once.
    function: jit::Function<'p>,
}

impl<const N: usize> Clone for Func<'_, N> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<const N: usize> Copy for Func<'_, N> {}

impl<const N: usize> fmt::Debug for Func<'_, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Func").field(&self.info.signature).finish()
    }
}

impl<'p, const N: usize> Func<'p, N> {
    /// Calls the function with `args`, on this thread's JIT stack.
    ///
    /// Fails with a [`RuntimeError`] on division by zero or too deep a
    /// recursion (pointing into the source), never with a crash.
    ///
    /// ```
    /// let program = exprjit::compile("fn ratio(a, b) = a / b").unwrap();
    /// let ratio = program.func::<2>("ratio").unwrap();
    /// assert_eq!(ratio.call([7, 2]), Ok(3));
    /// let error = ratio.call([7, 0]).unwrap_err();
    /// assert_eq!(error.to_string(), "division by zero at <source>:1:20");
    /// ```
    #[inline(always)]
    pub fn call(&self, args: [i64; N]) -> Result<i64, RuntimeError> {
        // The value path is all that is inlined into the caller.
        match self.function.call_quick(&args) {
            Ok(value) => Ok(value),
            Err(miss) => self.program.after_miss(&self.function, &args, miss),
        }
    }

    /// Like [`Func::call`], but [`Interrupt::request`] on `interrupt` (from
    /// any thread) stops the call at its next function entry with an error
    /// of kind [`ErrorCode::Interrupted`].
    ///
    /// An interrupt serves one call at a time: if another call is running
    /// with it, this one fails at once with [`ErrorCode::InterruptInUse`].
    ///
    /// ```
    /// use std::time::Duration;
    /// let program = exprjit::compile("fn spin(n) = spin(n + 1)").unwrap();
    /// let spin = program.func::<1>("spin").unwrap();
    /// let interrupt = exprjit::Interrupt::new();
    /// let error = std::thread::scope(|scope| {
    ///     let call = scope.spawn(|| spin.call_interruptible([0], &interrupt));
    ///     while !call.is_finished() {
    ///         std::thread::sleep(Duration::from_millis(10));
    ///         interrupt.request();
    ///     }
    ///     call.join().unwrap().unwrap_err()
    /// });
    /// assert_eq!(error.code(), exprjit::ErrorCode::Interrupted);
    /// ```
    pub fn call_interruptible(
        &self,
        args: [i64; N],
        interrupt: &Interrupt,
    ) -> Result<i64, RuntimeError> {
        self.program
            .with_interrupt(interrupt, |inner| self.function.call(&args, Some(inner)))
            .and_then(|result| self.program.runtime_result(result))
    }

    /// The function's name.
    ///
    /// ```
    /// let program = exprjit::compile("fn f(x) = x").unwrap();
    /// assert_eq!(program.func::<1>("f").unwrap().name(), "f");
    /// ```
    pub fn name(&self) -> &'p str {
        &self.info.name
    }

    /// The signature as written, e.g. `score(a, b)`.
    ///
    /// ```
    /// let program = exprjit::compile("fn score(a, b) = a + b").unwrap();
    /// assert_eq!(program.func::<2>("score").unwrap().signature(), "score(a, b)");
    /// ```
    pub fn signature(&self) -> &'p str {
        &self.info.signature
    }
}

/// Stops a call made with [`Func::call_interruptible`], from any thread.
///
/// This is the mechanism behind the REPL's Ctrl-C: a request raises the
/// running call's stack limit, so the next function entry (every call and
/// every loop iteration, since loops are tail calls) traps. A request made
/// while no call runs with this interrupt has nothing to stop and is
/// forgotten.
///
/// ```
/// let interrupt = exprjit::Interrupt::new();
/// interrupt.request(); // nothing is running: no effect
/// let program = exprjit::compile("fn f(x) = x + 1").unwrap();
/// let f = program.func::<1>("f").unwrap();
/// assert_eq!(f.call_interruptible([1], &interrupt), Ok(2));
/// ```
#[derive(Debug, Default)]
pub struct Interrupt {
    inner: jit::LimitInterrupt,
    /// Set while a call runs with this interrupt.
    in_use: AtomicBool,
}

impl Interrupt {
    /// An interrupt with no call running.
    ///
    /// ```
    /// static STOP: exprjit::Interrupt = exprjit::Interrupt::new();
    /// STOP.request();
    /// ```
    pub const fn new() -> Interrupt {
        Interrupt {
            inner: jit::LimitInterrupt::new(),
            in_use: AtomicBool::new(false),
        }
    }

    /// Stops the call running with this interrupt, if any, at its next
    /// function entry. Never blocks (only atomic operations).
    ///
    /// ```
    /// let interrupt = std::sync::Arc::new(exprjit::Interrupt::new());
    /// let remote = std::sync::Arc::clone(&interrupt);
    /// std::thread::spawn(move || remote.request()).join().unwrap();
    /// ```
    pub fn request(&self) {
        self.inner.request();
    }
}

/// Why [`compile`] failed: diagnostics pointing into the source.
///
/// `Display` renders them exactly as the command line does (without
/// colour); [`CompileError::render_coloured`] adds ANSI colours.
///
/// ```
/// let error = exprjit::compile("fn fib(n) = n\nfbi(3)").unwrap_err();
/// assert_eq!(
///     error.to_string(),
///     "\
/// error[E0011]: unknown function 'fbi'
///   ┌─ <source>:2:1
///   │
/// 2 │ fbi(3)
///   │ ^^^ no function of this name is defined
///   │
///   = help: did you mean 'fib'?
///
/// "
/// );
/// ```
#[derive(Clone)]
pub struct CompileError {
    file: Arc<SourceFile>,
    problem: Problem,
}

#[derive(Clone, Debug)]
enum Problem {
    /// Errors in the source: as the compiler made them (the first hundred,
    /// for rendering, and a count of the rest) and as the API shows them.
    Diagnostics(Diagnostics, Vec<Diagnostic>),
    /// The system refused a resource (memory for the code, a thread).
    System(String),
}

impl CompileError {
    fn system(file: Arc<SourceFile>, message: String) -> CompileError {
        CompileError {
            file,
            problem: Problem::System(message),
        }
    }

    /// The errors found, in source order: the first hundred (a hostile
    /// source can hold millions; [`CompileError::error_count`] counts them
    /// all). Empty if the system, not the source, is at fault: see
    /// [`CompileError::code`].
    ///
    /// ```
    /// let error = exprjit::compile("fn f(x) = y\nfn g(x) = f(x, x)").unwrap_err();
    /// let codes: Vec<_> = error.diagnostics().iter().map(|d| d.code().as_str()).collect();
    /// assert_eq!(codes, ["E0010", "E0012"]);
    /// ```
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match &self.problem {
            Problem::Diagnostics(_, public) => public,
            Problem::System(_) => &[],
        }
    }

    /// How many errors were found, those [`CompileError::diagnostics`]
    /// leaves out included.
    ///
    /// ```
    /// let error = exprjit::compile(&"$\n".repeat(150)).unwrap_err();
    /// assert_eq!(error.diagnostics().len(), 100);
    /// assert_eq!(error.error_count(), 150);
    /// ```
    pub fn error_count(&self) -> usize {
        match &self.problem {
            Problem::Diagnostics(diagnostics, _) => diagnostics.total(),
            Problem::System(_) => 0,
        }
    }

    fn from_diagnostics(file: Arc<SourceFile>, diagnostics: Diagnostics) -> CompileError {
        let public = diagnostics
            .iter()
            .map(|d| Diagnostic::from_internal(d, &file))
            .collect();
        CompileError {
            file,
            problem: Problem::Diagnostics(diagnostics, public),
        }
    }

    /// The code of the first error.
    ///
    /// ```
    /// let error = exprjit::compile("1 +").unwrap_err();
    /// assert_eq!(error.code(), exprjit::ErrorCode::SyntaxError);
    /// ```
    pub fn code(&self) -> ErrorCode {
        match &self.problem {
            Problem::Diagnostics(diagnostics, _) => diagnostics
                .iter()
                .find_map(|d| d.code)
                .unwrap_or(ErrorCode::SyntaxError),
            Problem::System(_) => ErrorCode::OutOfMemory,
        }
    }

    /// The diagnostics with ANSI colour escapes, for a terminal.
    ///
    /// ```
    /// let error = exprjit::compile("1 +").unwrap_err();
    /// assert!(error.render_coloured().contains("\x1b["));
    /// ```
    pub fn render_coloured(&self) -> String {
        self.render(InternalDiagnostic::render_coloured)
    }

    fn render(&self, render_one: fn(&InternalDiagnostic, &SourceFile) -> String) -> String {
        match &self.problem {
            Problem::Diagnostics(diagnostics, _) => diagnostics
                .iter()
                .map(|diagnostic| render_one(diagnostic, &self.file))
                .chain(diagnostics.hidden_note())
                .collect(),
            Problem::System(message) => {
                format!("error[{}]: {message}\n", ErrorCode::OutOfMemory)
            }
        }
    }
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(InternalDiagnostic::render))
    }
}

impl fmt::Debug for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The rendered diagnostics read better than the structure in the
        // output of `unwrap` and `main` returning an error.
        write!(f, "\n{self}")
    }
}

impl std::error::Error for CompileError {}

/// Why [`Program::func`] found no function of that name and arity.
///
/// ```
/// let program = exprjit::compile("fn score(a, b) = a + b").unwrap();
/// let error = program.func::<3>("score").unwrap_err();
/// assert_eq!(
///     error.to_string(),
///     "function 'score' takes 2 parameters, not 3: it is defined as score(a, b) at <source>:1:4"
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LookupError {
    name: String,
    source_name: String,
    problem: LookupProblem,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum LookupProblem {
    NotFound {
        suggestion: Option<String>,
    },
    WrongArity {
        requested: usize,
        arity: usize,
        signature: String,
        line: usize,
        col: usize,
    },
}

impl LookupError {
    /// [`ErrorCode::NoSuchFunction`] or [`ErrorCode::ArityMismatch`].
    ///
    /// ```
    /// let program = exprjit::compile("fn f(x) = x").unwrap();
    /// let error = program.func::<1>("g").unwrap_err();
    /// assert_eq!(error.code(), exprjit::ErrorCode::NoSuchFunction);
    /// ```
    pub fn code(&self) -> ErrorCode {
        match self.problem {
            LookupProblem::NotFound { .. } => ErrorCode::NoSuchFunction,
            LookupProblem::WrongArity { .. } => ErrorCode::ArityMismatch,
        }
    }

    /// The name that was looked up.
    ///
    /// ```
    /// let program = exprjit::compile("fn f(x) = x").unwrap();
    /// assert_eq!(program.func::<1>("g").unwrap_err().name(), "g");
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Display for LookupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = &self.name;
        match &self.problem {
            LookupProblem::NotFound { suggestion } => {
                write!(f, "no function '{name}' in {}", self.source_name)?;
                match suggestion {
                    Some(near) => write!(f, "; did you mean '{near}'?"),
                    None => Ok(()),
                }
            }
            LookupProblem::WrongArity {
                requested,
                arity,
                signature,
                line,
                col,
            } => {
                let noun = if *arity == 1 {
                    "parameter"
                } else {
                    "parameters"
                };
                write!(
                    f,
                    "function '{name}' takes {arity} {noun}, not {requested}: \
                     it is defined as {signature} at {}:{line}:{col}",
                    self.source_name
                )
            }
        }
    }
}

impl std::error::Error for LookupError {}

/// An error while a function ran: division by zero, stack overflow or an
/// interrupt. It knows where in the source it happened.
///
/// `Display` gives one line (`division by zero at <source>:1:20`);
/// [`RuntimeError::render`] gives the command line's diagnostic with the
/// source excerpt.
///
/// ```
/// let program = exprjit::compile("fn f(x) = 100 / x").unwrap();
/// let error = program.func::<1>("f").unwrap().call([0]).unwrap_err();
/// assert_eq!(error.code(), exprjit::ErrorCode::DivisionByZero);
/// assert_eq!(error.line_col(), Some((1, 15)));
/// ```
#[derive(Clone)]
pub struct RuntimeError {
    file: Arc<SourceFile>,
    cause: Cause,
    /// The row of a `call_many` batch the error stopped at.
    row: Option<usize>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Cause {
    /// A trap in the generated code, or an interrupt.
    Trap(jit::Fault),
    /// The interrupt passed to the call was in use by another call.
    InterruptInUse,
    /// The system refused memory for this thread's JIT stack.
    OutOfMemory(String),
    /// A [`DynFunc::call`] with the wrong number of arguments.
    WrongArgumentCount { expected: usize, got: usize },
    /// The rows and outputs of a `call_many` do not fit together.
    BatchShape(String),
}

impl RuntimeError {
    /// What kind of error this is.
    ///
    /// ```
    /// let program = exprjit::compile("fn down(n) = 1 + down(n - 1)").unwrap();
    /// let error = program.func::<1>("down").unwrap().call([0]).unwrap_err();
    /// assert_eq!(error.code(), exprjit::ErrorCode::StackOverflow);
    /// ```
    pub fn code(&self) -> ErrorCode {
        match &self.cause {
            Cause::Trap(jit::Fault::DivisionByZero { .. }) => ErrorCode::DivisionByZero,
            Cause::Trap(jit::Fault::StackOverflow { .. }) => ErrorCode::StackOverflow,
            Cause::Trap(jit::Fault::Interrupted) => ErrorCode::Interrupted,
            // Only a REPL session's code calls through a function table.
            Cause::Trap(jit::Fault::UndefinedFunction { .. }) => ErrorCode::UndefinedFunction,
            Cause::InterruptInUse => ErrorCode::InterruptInUse,
            Cause::OutOfMemory(_) => ErrorCode::OutOfMemory,
            Cause::WrongArgumentCount { .. } => ErrorCode::WrongArgumentCount,
            Cause::BatchShape(_) => ErrorCode::BatchShape,
        }
    }

    /// For an error from a `call_many`: the row (counting from 0) it
    /// stopped at. The rows before it have their results.
    ///
    /// ```
    /// let program = exprjit::compile("fn f(x) = 100 / x").unwrap();
    /// let f = program.func::<1>("f").unwrap();
    /// let mut out = [0; 3];
    /// let error = f.call_many(&[[5], [0], [2]], &mut out).unwrap_err();
    /// assert_eq!(error.row(), Some(1));
    /// assert_eq!(out[0], 20);
    /// ```
    pub fn row(&self) -> Option<usize> {
        self.row
    }

    /// The 1-based line and column the error points at, if it points into
    /// the source (an interrupt does not).
    ///
    /// ```
    /// let program = exprjit::compile("fn f(x) =\n  x % x").unwrap();
    /// let error = program.func::<1>("f").unwrap().call([0]).unwrap_err();
    /// assert_eq!(error.line_col(), Some((2, 5)));
    /// ```
    pub fn line_col(&self) -> Option<(usize, usize)> {
        self.span().map(|span| self.file.line_col(span.start))
    }

    fn span(&self) -> Option<Span> {
        match &self.cause {
            Cause::Trap(jit::Fault::DivisionByZero { span, .. })
            | Cause::Trap(jit::Fault::StackOverflow { span, .. }) => Some(*span),
            _ => None,
        }
    }

    /// The diagnostic, as the command line prints it: headline, location
    /// and the source line with a caret.
    ///
    /// ```
    /// let program = exprjit::compile("fn f(x) = 100 / x").unwrap();
    /// let error = program.func::<1>("f").unwrap().call([0]).unwrap_err();
    /// assert_eq!(
    ///     error.render(),
    ///     "\
    /// error[E0100]: division by zero
    ///   ┌─ <source>:1:15
    ///   │
    /// 1 │ fn f(x) = 100 / x
    ///   │               ^ the divisor is 0
    ///
    /// "
    /// );
    /// ```
    pub fn render(&self) -> String {
        match &self.cause {
            Cause::Trap(error) if self.span().is_some() => error.to_diagnostic().render(&self.file),
            _ => format!("error[{}]: {}\n", self.code(), self.headline()),
        }
    }

    /// Like [`RuntimeError::render`], with ANSI colour escapes.
    ///
    /// ```
    /// let program = exprjit::compile("fn f(x) = 1 / x").unwrap();
    /// let error = program.func::<1>("f").unwrap().call([0]).unwrap_err();
    /// assert!(error.render_coloured().contains("\x1b["));
    /// ```
    pub fn render_coloured(&self) -> String {
        match &self.cause {
            Cause::Trap(error) if self.span().is_some() => {
                error.to_diagnostic().render_coloured(&self.file)
            }
            _ => format!("error[{}]: {}\n", self.code(), self.headline()),
        }
    }

    fn headline(&self) -> String {
        match &self.cause {
            Cause::Trap(error) => error.to_diagnostic().message,
            Cause::InterruptInUse => "the interrupt is in use by another call".to_owned(),
            Cause::OutOfMemory(message) => message.clone(),
            Cause::WrongArgumentCount { expected, got } => {
                let plural = if *expected == 1 { "" } else { "s" };
                format!("the function takes {expected} argument{plural}, but {got} were given")
            }
            Cause::BatchShape(message) => message.clone(),
        }
    }
}

impl PartialEq for RuntimeError {
    fn eq(&self, other: &Self) -> bool {
        self.cause == other.cause && self.row == other.row && Arc::ptr_eq(&self.file, &other.file)
    }
}

impl Eq for RuntimeError {}

impl fmt::Display for RuntimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.headline())?;
        if let Some((line, col)) = self.line_col() {
            write!(f, " at {}:{line}:{col}", self.file.name)?;
        }
        if let Some(row) = self.row {
            write!(f, " (row {row})")?;
        }
        Ok(())
    }
}

impl fmt::Debug for RuntimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RuntimeError({}: {self})", self.code())
    }
}

impl std::error::Error for RuntimeError {}

/// Any error of this API, for code that uses `?` on all of them.
///
/// ```
/// fn run() -> Result<i64, exprjit::Error> {
///     let program = exprjit::compile("fn f(x) = 10 / x")?;
///     let f = program.func::<1>("f")?;
///     Ok(f.call([0])?)
/// }
/// assert_eq!(run().unwrap_err().code(), exprjit::ErrorCode::DivisionByZero);
/// ```
#[derive(Clone, Debug)]
pub enum Error {
    /// From [`compile`] or [`eval`].
    Compile(CompileError),
    /// From [`Program::func`].
    Lookup(LookupError),
    /// From a call, or [`eval`].
    Runtime(RuntimeError),
}

impl Error {
    /// The code of the (first) error.
    ///
    /// ```
    /// let error = exprjit::eval("nope(1)").unwrap_err();
    /// assert_eq!(error.code(), exprjit::ErrorCode::UnknownFunction);
    /// ```
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::Compile(error) => error.code(),
            Error::Lookup(error) => error.code(),
            Error::Runtime(error) => error.code(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Compile(error) => error.fmt(f),
            Error::Lookup(error) => error.fmt(f),
            Error::Runtime(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Compile(error) => Some(error),
            Error::Lookup(error) => Some(error),
            Error::Runtime(error) => Some(error),
        }
    }
}

impl From<CompileError> for Error {
    fn from(error: CompileError) -> Error {
        Error::Compile(error)
    }
}

impl From<LookupError> for Error {
    fn from(error: LookupError) -> Error {
        Error::Lookup(error)
    }
}

impl From<RuntimeError> for Error {
    fn from(error: RuntimeError) -> Error {
        Error::Runtime(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn shared_types_are_send_and_sync() {
        assert_send_sync::<Program>();
        assert_send_sync::<Func<'static, 2>>();
        assert_send_sync::<Interrupt>();
        assert_send_sync::<Error>();
    }

    /// Whether `/proc/self/maps` has an executable mapping starting at
    /// `address`.
    fn exec_mapping_at(address: u64) -> bool {
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        maps.lines().any(|line| {
            let (range, rest) = line.split_once(' ').unwrap_or_default();
            let start = range.split('-').next().unwrap_or_default();
            u64::from_str_radix(start, 16) == Ok(address) && rest.starts_with("r-x")
        })
    }

    #[test]
    fn dropping_the_program_unmaps_its_code() {
        let program = compile("fn f(x) = x").unwrap();
        let address = program.loaded.base_address();
        assert!(exec_mapping_at(address));
        drop(program);
        assert!(!exec_mapping_at(address));
    }

    #[test]
    fn long_sources_compile_on_the_helper_thread() {
        // Deeper than the test thread's stack would survive inline.
        let depth = 100_000;
        let source = format!("{}1{}", "(".repeat(depth), ")".repeat(depth));
        assert!(source.len() > INLINE_COMPILE_LIMIT);
        assert_eq!(eval(&source).unwrap(), 1);
    }

    #[test]
    fn sources_compiled_inline_fit_a_small_thread_stack() {
        // The most deeply nested source short enough to compile on the
        // caller's thread, on a thread with a stack far smaller than the
        // usual 2 MiB.
        // (Parentheses make no tree nodes; each `-` is one level.)
        let source = format!("{}1", "-".repeat(INLINE_COMPILE_LIMIT - 1));
        assert!(source.len() <= INLINE_COMPILE_LIMIT);
        let value = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || eval(&source).unwrap())
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(value, -1);
    }

    #[test]
    fn nothing_to_evaluate_is_an_error() {
        let error = eval("fn f(x) = x").unwrap_err();
        assert_eq!(error.code(), ErrorCode::NothingToEvaluate);
        assert!(error.to_string().contains("<source>:1:12"), "{error}");
    }

    #[test]
    fn lookup_finds_only_functions_not_top_level_expressions() {
        let program = compile("fn f(x) = x\n1 + 1").unwrap();
        assert_eq!(program.functions().len(), 1);
        assert_eq!(
            program
                .func::<0>("<top-level expression 2>")
                .unwrap_err()
                .code(),
            ErrorCode::NoSuchFunction
        );
    }

    #[test]
    fn zero_and_many_parameter_functions() {
        let program = compile(
            "fn seven() = 7\nfn sum8(a, b, c, d, e, f, g, h) = a + b + c + d + e + f + g + h",
        )
        .unwrap();
        assert_eq!(program.func::<0>("seven").unwrap().call([]), Ok(7));
        let sum8 = program.func::<8>("sum8").unwrap();
        assert_eq!(sum8.call([1, 2, 3, 4, 5, 6, 7, 8]), Ok(36));
        assert_eq!(
            program.func::<1>("seven").unwrap_err().to_string(),
            "function 'seven' takes 0 parameters, not 1: it is defined as seven() at <source>:1:4"
        );
    }
}
