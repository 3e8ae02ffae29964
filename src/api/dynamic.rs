//! Functions whose arity is known only at run time: [`Program::func_dyn`]
//! and [`DynFunc`], for hosts whose formulas (and so their number of
//! variables) come from their users.

use std::fmt;

use super::{Cause, FunctionInfo, Interrupt, LookupError, Program, RuntimeError};
use crate::jit;

/// A function of a [`Program`] whose arity is checked on each call rather
/// than by the type system (see [`Program::func_dyn`]). Like [`Func`](super::Func)
/// it borrows the program, and is `Copy`, `Send` and `Sync`.
///
/// ```
/// let program = exprjit::compile("fn price(base, qty, pct) = base * qty * (100 - pct) / 100").unwrap();
/// let price = program.func_dyn("price").unwrap();
/// assert_eq!(price.arity(), 3);
/// assert_eq!(price.params(), ["base", "qty", "pct"]);
/// assert_eq!(price.call(&[10, 3, 20]), Ok(24));
/// ```
#[derive(Copy, Clone)]
pub struct DynFunc<'p> {
    program: &'p Program,
    info: &'p FunctionInfo,
    function: jit::Function<'p>,
}

impl fmt::Debug for DynFunc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DynFunc")
            .field(&self.info.signature)
            .finish()
    }
}

impl Program {
    /// A handle to the function `name`, whatever its arity; the number of
    /// arguments is checked at each call instead.
    ///
    /// ```
    /// let program = exprjit::compile("fn f(x, y) = x - y").unwrap();
    /// let f = program.func_dyn("f").unwrap();
    /// assert_eq!(f.call(&[5, 3]), Ok(2));
    /// let typo = program.func_dyn("g").unwrap_err();
    /// assert_eq!(typo.code(), exprjit::ErrorCode::NoSuchFunction);
    /// ```
    pub fn func_dyn(&self, name: &str) -> Result<DynFunc<'_>, LookupError> {
        let (info, function) = self.lookup(name)?;
        Ok(DynFunc {
            program: self,
            info,
            function,
        })
    }
}

impl<'p> DynFunc<'p> {
    /// How many arguments the function takes.
    ///
    /// ```
    /// let program = exprjit::compile("fn f(a, b, c) = a").unwrap();
    /// assert_eq!(program.func_dyn("f").unwrap().arity(), 3);
    /// ```
    pub fn arity(&self) -> usize {
        self.info.arity
    }

    /// The parameter names, in order.
    ///
    /// ```
    /// let program = exprjit::compile("fn area(width, height) = width * height").unwrap();
    /// assert_eq!(program.func_dyn("area").unwrap().params(), ["width", "height"]);
    /// ```
    pub fn params(&self) -> &'p [String] {
        &self.info.params
    }

    /// The function's name.
    ///
    /// ```
    /// let program = exprjit::compile("fn f(x) = x").unwrap();
    /// assert_eq!(program.func_dyn("f").unwrap().name(), "f");
    /// ```
    pub fn name(&self) -> &'p str {
        &self.info.name
    }

    /// Calls the function with `args`, which must hold exactly
    /// [`DynFunc::arity`] values (else an error of kind
    /// [`ErrorCode::WrongArgumentCount`](crate::ErrorCode::WrongArgumentCount)).
    ///
    /// ```
    /// let program = exprjit::compile("fn f(x) = 10 / x").unwrap();
    /// let f = program.func_dyn("f").unwrap();
    /// assert_eq!(f.call(&[2]), Ok(5));
    /// let error = f.call(&[1, 2]).unwrap_err();
    /// assert_eq!(error.to_string(), "the function takes 1 argument, but 2 were given");
    /// assert_eq!(f.call(&[0]).unwrap_err().code(), exprjit::ErrorCode::DivisionByZero);
    /// ```
    #[inline(always)]
    pub fn call(&self, args: &[i64]) -> Result<i64, RuntimeError> {
        // The value path is all that is inlined into the caller, with one
        // way out to the rest (a wrong count, a trap, a slow call): shaped
        // otherwise, the result went through memory in the caller's loop.
        // The arguments are loaded by code chosen for the function's arity;
        // the count is compared with the code's own copy of the arity,
        // which the quick path compares with too (one check, not two).
        // A function without trap sites and the right count: one compare.
        if let Some(value) = self.function.call_direct_loaded(args) {
            return Ok(value);
        }
        let miss = if args.len() == self.function.arity() {
            match self.function.call_quick_loaded(args) {
                Ok(value) => return Ok(value),
                Err(miss) => Some(miss),
            }
        } else {
            None
        };
        self.after_miss(args, miss)
    }

    /// The rest of [`DynFunc::call`]: `miss` is `None` for a wrong number
    /// of arguments.
    #[cold]
    #[inline(never)]
    fn after_miss(&self, args: &[i64], miss: Option<jit::Miss>) -> Result<i64, RuntimeError> {
        self.check_count(args.len())?;
        let miss = miss.expect("a call with the right count ran or missed");
        self.program.after_miss(&self.function, args, miss)
    }

    /// Like [`DynFunc::call`], stoppable by [`Interrupt::request`].
    ///
    /// ```
    /// let program = exprjit::compile("fn f(x) = x + 1").unwrap();
    /// let interrupt = exprjit::Interrupt::new();
    /// assert_eq!(program.func_dyn("f").unwrap().call_interruptible(&[1], &interrupt), Ok(2));
    /// ```
    pub fn call_interruptible(
        &self,
        args: &[i64],
        interrupt: &Interrupt,
    ) -> Result<i64, RuntimeError> {
        self.check_count(args.len())?;
        self.program
            .with_interrupt(interrupt, |inner| self.function.call(args, Some(inner)))
            .and_then(|result| self.program.runtime_result(result))
    }

    /// Calls the function once per row and stores the results in `out`.
    /// `rows` is flat: row `i` starts at `rows[i * stride]`, and its first
    /// [`DynFunc::arity`] values are the arguments (a stride above the arity
    /// skips the other columns). `rows` must hold exactly `out.len()` rows
    /// and `stride` be at least the arity, else an error of kind
    /// [`ErrorCode::BatchShape`](crate::ErrorCode::BatchShape). The loop
    /// runs inside the generated code; a runtime error stops it at the row
    /// [`RuntimeError::row`] names.
    ///
    /// ```
    /// let program = exprjit::compile("fn f(a, b) = a * b").unwrap();
    /// let f = program.func_dyn("f").unwrap();
    /// // Three columns per row; the function uses the first two.
    /// let rows = [2, 3, 99, 4, 5, 99];
    /// let mut out = [0; 2];
    /// f.call_many(&rows, 3, &mut out).unwrap();
    /// assert_eq!(out, [6, 20]);
    /// assert_eq!(
    ///     f.call_many(&rows, 1, &mut out).unwrap_err().code(),
    ///     exprjit::ErrorCode::BatchShape
    /// );
    /// ```
    pub fn call_many(
        &self,
        rows: &[i64],
        stride: usize,
        out: &mut [i64],
    ) -> Result<(), RuntimeError> {
        self.check_shape(rows.len(), stride, out.len())?;
        let result = self.function.call_many(rows, stride, out, None);
        self.program.batch_result(result)
    }

    /// Like [`DynFunc::call_many`], stoppable by [`Interrupt::request`].
    ///
    /// ```
    /// let program = exprjit::compile("fn f(a) = -a").unwrap();
    /// let interrupt = exprjit::Interrupt::new();
    /// let mut out = [0; 2];
    /// program.func_dyn("f").unwrap().call_many_interruptible(&[1, 2], 1, &mut out, &interrupt).unwrap();
    /// assert_eq!(out, [-1, -2]);
    /// ```
    pub fn call_many_interruptible(
        &self,
        rows: &[i64],
        stride: usize,
        out: &mut [i64],
        interrupt: &Interrupt,
    ) -> Result<(), RuntimeError> {
        self.check_shape(rows.len(), stride, out.len())?;
        self.program
            .with_interrupt(interrupt, |inner| {
                self.function.call_many(rows, stride, out, Some(inner))
            })
            .and_then(|result| self.program.batch_result(result))
    }

    #[inline(always)]
    fn check_count(&self, got: usize) -> Result<(), RuntimeError> {
        if got == self.info.arity {
            return Ok(());
        }
        self.wrong_count(got)
    }

    #[cold]
    #[inline(never)]
    fn wrong_count(&self, got: usize) -> Result<(), RuntimeError> {
        Err(self.program.runtime_error(Cause::WrongArgumentCount {
            expected: self.info.arity,
            got,
        }))
    }

    fn check_shape(
        &self,
        values: usize,
        stride: usize,
        outputs: usize,
    ) -> Result<(), RuntimeError> {
        let arity = self.info.arity;
        let problem = if stride < arity {
            format!("a row stride of {stride} is shorter than the function's {arity} arguments")
        } else if Some(values) != outputs.checked_mul(stride) {
            format!("{values} values do not make {outputs} rows of {stride} (one output per row)")
        } else {
            return Ok(());
        };
        Err(self.program.runtime_error(Cause::BatchShape(problem)))
    }
}
