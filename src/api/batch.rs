//! One formula over many rows: [`Func::call_many`] and its interruptible
//! form. The loop over the rows runs in generated code (a batch entry per
//! arity, see `crate::abi`), so a batch enters the JIT stack once.

use std::sync::atomic::Ordering;

use super::{Cause, Func, Interrupt, Program, RuntimeError};
use crate::jit;

impl<const N: usize> Func<'_, N> {
    /// Calls the function once per row of `rows`, storing the results in
    /// `out` (one per row, in order). The loop runs inside the generated
    /// code: one entry into the JIT stack for the whole batch.
    ///
    /// A runtime error stops the batch; [`RuntimeError::row`] says which
    /// row, and the rows before it have their results in `out`.
    ///
    /// ```
    /// let program = exprjit::compile("fn area(w, h) = w * h").unwrap();
    /// let area = program.func::<2>("area").unwrap();
    /// let rows = [[2, 3], [4, 5], [6, 7]];
    /// let mut out = [0; 3];
    /// area.call_many(&rows, &mut out).unwrap();
    /// assert_eq!(out, [6, 20, 42]);
    /// ```
    ///
    /// # Panics
    /// If `out` does not have one element per row.
    pub fn call_many(&self, rows: &[[i64; N]], out: &mut [i64]) -> Result<(), RuntimeError> {
        assert_eq!(rows.len(), out.len(), "call_many needs one output per row");
        let result = self.function.call_many(rows.as_flattened(), N, out, None);
        self.program.batch_result(result)
    }

    /// Like [`Func::call_many`], but [`Interrupt::request`] stops the batch
    /// (at the row running then, or at a function entry inside it).
    ///
    /// ```
    /// let program = exprjit::compile("fn f(x) = x + 1").unwrap();
    /// let f = program.func::<1>("f").unwrap();
    /// let interrupt = exprjit::Interrupt::new();
    /// let mut out = [0; 2];
    /// f.call_many_interruptible(&[[1], [2]], &mut out, &interrupt).unwrap();
    /// assert_eq!(out, [2, 3]);
    /// ```
    ///
    /// # Panics
    /// If `out` does not have one element per row.
    pub fn call_many_interruptible(
        &self,
        rows: &[[i64; N]],
        out: &mut [i64],
        interrupt: &Interrupt,
    ) -> Result<(), RuntimeError> {
        assert_eq!(rows.len(), out.len(), "call_many needs one output per row");
        self.program
            .with_interrupt(interrupt, |inner| {
                self.function
                    .call_many(rows.as_flattened(), N, out, Some(inner))
            })
            .and_then(|result| self.program.batch_result(result))
    }
}

impl Program {
    /// Turns the result of a batch into the API's error type.
    pub(super) fn batch_result(
        &self,
        result: std::io::Result<Result<(), (usize, jit::Fault)>>,
    ) -> Result<(), RuntimeError> {
        match result {
            Ok(Ok(())) => Ok(()),
            Ok(Err((row, error))) => {
                let mut error = self.runtime_error(Cause::Trap(error));
                error.row = Some(row);
                Err(error)
            }
            Err(error) => Err(self.runtime_error(Cause::OutOfMemory(format!(
                "cannot allocate the JIT stack: {error}"
            )))),
        }
    }

    /// Runs `call` holding `interrupt`, which serves one call at a time.
    pub(super) fn with_interrupt<R>(
        &self,
        interrupt: &Interrupt,
        call: impl FnOnce(&jit::LimitInterrupt) -> R,
    ) -> Result<R, RuntimeError> {
        if interrupt.in_use.swap(true, Ordering::Acquire) {
            return Err(self.runtime_error(Cause::InterruptInUse));
        }
        let result = call(&interrupt.inner);
        interrupt.in_use.store(false, Ordering::Release);
        Ok(result)
    }
}
