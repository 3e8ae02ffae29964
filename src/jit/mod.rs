//! Loading generated code into executable memory and running it.
//!
//! [`mem`] owns the W^X code pages, [`runtime`] the JIT stack and the entry
//! trampoline's contract; this module ties a compiled program's code to its
//! names and trap table so that a trap becomes a located [`RuntimeError`].

pub mod mem;
pub mod runtime;

use std::io;

use crate::ast::Span;
use crate::codegen::lower::{Compiled, Symbol, TrapKind, TrapSite};
use crate::ir;
pub use crate::runtime_error::RuntimeError;
pub use runtime::Interrupt;
use runtime::{Exit, FuncEntry, Module, ModuleFunc};

/// A compiled program loaded into executable memory, ready to run.
pub struct Program {
    module: Module,
    names: Vec<(String, Span)>,
    symbols: Vec<Symbol>,
    top_level: Vec<ir::FuncId>,
    traps: Vec<TrapSite>,
}

impl Program {
    /// Copies the generated code of `program` into executable memory.
    pub fn load(program: &ir::Program, compiled: Compiled) -> io::Result<Program> {
        let entries = program
            .funcs
            .iter()
            .zip(&compiled.funcs)
            .map(|(func, code)| FuncEntry {
                offset: code.offset,
                arity: func.arity,
            })
            .collect();
        Ok(Program {
            module: Module::load(&compiled.code, compiled.enter, entries)?,
            symbols: compiled.symbols(program),
            names: program
                .funcs
                .iter()
                .map(|f| (f.name.clone(), f.name_span))
                .collect(),
            top_level: program.top_level.clone(),
            traps: compiled.traps,
        })
    }

    /// How many top-level expressions the program has.
    pub fn top_level_count(&self) -> usize {
        self.top_level.len()
    }

    /// Evaluates top-level expression number `index`.
    pub fn run_top_level(
        &self,
        index: usize,
        interrupt: Option<&Interrupt>,
    ) -> io::Result<Result<i64, RuntimeError>> {
        self.call(self.top_level[index], &[], interrupt)
    }

    /// Calls function `func` with `args` (which must match its arity);
    /// `interrupt`, if given, can stop the call.
    pub fn call(
        &self,
        func: ir::FuncId,
        args: &[i64],
        interrupt: Option<&Interrupt>,
    ) -> io::Result<Result<i64, RuntimeError>> {
        let function = self.function(func).expect("function id out of range");
        function.call(args, interrupt)
    }

    /// Function `func`, looked up once for repeated calls; `None` if there
    /// is no such function.
    pub fn function(&self, func: ir::FuncId) -> Option<Function<'_>> {
        Some(Function {
            program: self,
            func: self.module.func(func)?,
        })
    }

    /// Kept out of line: calls are hot, traps are not.
    #[cold]
    #[inline(never)]
    fn trap_cause(&self, offset: usize) -> RuntimeError {
        let site = self
            .traps
            .binary_search_by_key(&offset, |site| site.offset)
            .map(|i| self.traps[i])
            .unwrap_or_else(|_| panic!("trap at unknown code offset {offset:#x}"));
        match site.kind {
            TrapKind::DivisionByZero { op_span } => RuntimeError::DivisionByZero {
                func: site.func,
                span: op_span,
            },
            TrapKind::StackOverflow { func } => {
                let (name, span) = self.names[func].clone();
                RuntimeError::StackOverflow { func, name, span }
            }
        }
    }

    /// The executable code (for disassembly and tests).
    pub fn code(&self) -> &[u8] {
        self.module.code().bytes()
    }

    /// The address the code is mapped at.
    pub fn base_address(&self) -> u64 {
        self.module.code().base() as u64
    }

    /// The named ranges of [`Self::code`]: trampoline, trap exit, then
    /// every function indexed by its [`ir::FuncId`] (offset by two).
    pub fn symbols(&self) -> &[Symbol] {
        &self.symbols
    }
}

/// One function of a [`Program`], looked up once ([`Program::function`]) so
/// that calls skip the lookup. It borrows the program, whose code therefore
/// stays mapped while it exists.
#[derive(Copy, Clone)]
pub struct Function<'p> {
    program: &'p Program,
    func: ModuleFunc<'p>,
}

impl Function<'_> {
    /// How many arguments the function takes.
    pub fn arity(&self) -> usize {
        self.func.arity()
    }

    /// Calls the function with `args` (which must match its arity) on this
    /// thread's JIT stack; `interrupt`, if given, can stop the call.
    ///
    /// Inlined always: this is the path of every call from the library, and
    /// inlined into the caller's loop the results stay in registers (see
    /// `runtime::with_thread_stack`).
    #[inline(always)]
    pub fn call(
        &self,
        args: &[i64],
        interrupt: Option<&Interrupt>,
    ) -> io::Result<Result<i64, RuntimeError>> {
        Ok(match self.func.call(args, interrupt)? {
            Exit::Returned(value) => Ok(value),
            Exit::Trapped { offset } => Err(self.program.trap_cause(offset)),
            Exit::Interrupted => Err(RuntimeError::Interrupted),
        })
    }
}
