//! Loading generated code into executable memory and running it.
//!
//! [`mem`] owns the W^X code pages, [`runtime`] the JIT stack and the calls
//! through the entry trampoline; this module loads a [`PiecedArtifact`] and ties
//! its code to its [`CodeMap`] so that a trap becomes a located
//! [`Fault`]. Nothing here knows how the code was generated: the
//! artifact is plain data, and the contract the code follows is
//! [`crate::abi`].

pub mod gdb;
pub mod perf;
pub mod mem;
pub mod runtime;
pub mod table;

use std::io;

use crate::artifact::{CodeMap, PiecedArtifact, Symbol, TrapKind, compact};
pub use crate::fault::Fault;
use crate::ir;
pub use runtime::LimitInterrupt;
pub use runtime::Miss;
use runtime::{BatchExit, Exit, FuncEntry, Module, ModuleFunc};

/// A compiled program loaded into executable memory, ready to run.
pub struct LoadedProgram {
    /// The program's debug image, if registered with debuggers. Declared
    /// before `module` so that it is dropped (unregistered) before the
    /// code is unmapped.
    debug_image: Option<Box<gdb::Registration>>,
    module: Module,
    map: CodeMap,
    top_level: Vec<ir::FuncId>,
}

impl LoadedProgram {
    /// Moves the code of `artifact` into executable memory, piece by
    /// piece; `top_level` lists the functions that stand for the
    /// program's top-level expressions, in order.
    pub fn load(artifact: PiecedArtifact, top_level: Vec<ir::FuncId>) -> io::Result<LoadedProgram> {
        let PiecedArtifact { pieces, len, map } = artifact;
        let entries = || {
            map.funcs
                .iter()
                .map(|func| FuncEntry {
                    offset: func.offset,
                    arity: func.arity,
                    batch: map
                        .batch_entry(func.arity as usize)
                        .map(|b| compact(b.offset)),
                    direct: func.trap_free,
                    traps_return: func.traps_return,
                    loader: func.loader,
                })
                .collect()
        };
        let module = Module::load(pieces, len, map.enter, entries)?;
        Ok(LoadedProgram {
            debug_image: None,
            module,
            map,
            top_level,
        })
    }

    /// Registers `image`, an object file describing this program's code
    /// (from `debuginfo`), with debuggers, until the program is dropped
    /// (replacing any image registered before).
    pub fn register_debug_image(&mut self, image: Vec<u8>) {
        self.debug_image = Some(Box::new(gdb::register(image)));
    }

    /// How many top-level expressions the program has.
    pub fn top_level_count(&self) -> usize {
        self.top_level.len()
    }

    /// Evaluates top-level expression number `index`.
    pub fn run_top_level(
        &self,
        index: usize,
        interrupt: Option<&LimitInterrupt>,
    ) -> io::Result<Result<i64, Fault>> {
        self.call(self.top_level[index], &[], interrupt)
    }

    /// Calls function `func` with `args` (which must match its arity);
    /// `interrupt`, if given, can stop the call.
    pub fn call(
        &self,
        func: ir::FuncId,
        args: &[i64],
        interrupt: Option<&LimitInterrupt>,
    ) -> io::Result<Result<i64, Fault>> {
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

    /// The address of function `func`'s code (what a function table's slot
    /// holds for it).
    pub fn entry_address(&self, func: ir::FuncId) -> u64 {
        self.base_address() + self.map.funcs[func].offset as u64
    }

    /// Overwrites the first bytes of function `func`'s code with `bytes`
    /// (W^X holds throughout: see [`mem::ExecutableCode::patch`]); returns
    /// what they replaced, to put back with another patch. A REPL session
    /// redirects a replaced function's entry to its table slot this way,
    /// so that calls from within its own entry reach the new definition.
    pub fn patch_entry(&mut self, func: ir::FuncId, bytes: &[u8]) -> io::Result<Vec<u8>> {
        let offset = self.map.funcs[func].offset as usize;
        let old = self.code()[offset..offset + bytes.len()].to_vec();
        self.module.patch(offset, bytes)?;
        Ok(old)
    }

    /// The address of the code for a function-table slot of a function
    /// not defined yet, if this program was compiled with a table
    /// ([`CodeMap::undefined`]).
    pub fn undefined_address(&self) -> Option<u64> {
        self.map.undefined.map(|offset| self.base_address() + offset as u64)
    }

    /// Calls `func` like [`Self::call`], for code that calls other
    /// programs' code through a function table (a REPL session): a trap
    /// comes back as the absolute address of its site, which may be in
    /// another program; [`Self::fault_at_address`] of the program that
    /// holds it says what happened.
    pub fn call_linked(
        &self,
        func: ir::FuncId,
        args: &[i64],
        interrupt: Option<&LimitInterrupt>,
    ) -> io::Result<Linked> {
        let function = self.module.func(func).expect("function id out of range");
        Ok(match function.call(args, interrupt)? {
            Exit::Returned(value) => Linked::Returned(value),
            // The offset wraps for a site in another program's code.
            Exit::Trapped { offset } => {
                Linked::Trapped((self.module.code().base() as usize).wrapping_add(offset))
            }
            Exit::Interrupted => Linked::Fault(interrupted()),
        })
    }

    /// What the trap whose site is at `address` means, if the site is in
    /// this program's code.
    pub fn fault_at_address(&self, address: usize) -> Option<Fault> {
        let base = self.module.code().base() as usize;
        // A site is a return address: the last one may be the code's end.
        let offset = address.checked_sub(base).filter(|&o| o <= self.code().len())?;
        let is_site = self.map.trap_at(offset).is_some()
            || self.map.batch.iter().any(|batch| batch.check_trap == offset);
        is_site.then(|| self.trap_cause(offset))
    }

    /// Lets calls use `bytes` of JIT stack (default and most
    /// [`crate::abi::STACK_SIZE`], least [`runtime::MIN_STACK_SIZE`]) before a
    /// recursion is a stack overflow.
    pub fn set_stack_size(&mut self, bytes: usize) {
        self.module.set_stack_size(bytes);
    }

    /// Kept out of line: calls are hot, traps are not.
    #[cold]
    #[inline(never)]
    fn trap_cause(&self, offset: usize) -> Fault {
        let cause = self.trap_site_cause(offset);
        if matches!(cause, Fault::StackOverflow { .. }) {
            give_back_stack();
        }
        cause
    }

    fn trap_site_cause(&self, offset: usize) -> Fault {
        if self
            .map
            .batch
            .iter()
            .any(|batch| batch.check_trap == offset)
        {
            // Only an interrupt fails a batch loop's check (see `crate::abi`).
            return Fault::Interrupted;
        }
        let site = self
            .map
            .trap_at(offset)
            .unwrap_or_else(|| panic!("trap at unknown code offset {offset:#x}"));
        let site_func = site.func as usize;
        match site.kind {
            TrapKind::DivisionByZero { op_span } => Fault::DivisionByZero {
                func: site_func,
                span: op_span.into(),
            },
            TrapKind::UndefinedFunction { callee, span } => Fault::UndefinedFunction {
                func: site_func,
                name: self.map.name(&self.map.funcs[callee as usize]).to_owned(),
                span: span.into(),
            },
            TrapKind::StackOverflow => {
                let func = &self.map.funcs[site_func];
                Fault::StackOverflow {
                    func: site_func,
                    name: self.map.name(func).to_owned(),
                    span: func.name_span.into(),
                }
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

    /// The named ranges of [`Self::code`], in address order.
    pub fn symbols(&self) -> Vec<Symbol> {
        self.map.symbols()
    }

    /// What is where in [`Self::code`].
    pub fn map(&self) -> &CodeMap {
        &self.map
    }
}

/// How a [`LoadedProgram::call_linked`] ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Linked {
    /// The function returned this value.
    Returned(i64),
    /// A trap fired at this absolute code address.
    Trapped(usize),
    /// The call stopped for this reason (an interrupt).
    Fault(Fault),
}

/// An interrupted call may have stopped deep in a recursion: its stack is
/// given back as after an overflow.
#[cold]
#[inline(never)]
fn interrupted() -> Fault {
    give_back_stack();
    Fault::Interrupted
}

/// Returns the touched part of this thread's JIT stack to the system
/// ([`runtime::release_thread_stack`]). Failing to is not the call's
/// error: the memory merely stays resident, as it did before.
fn give_back_stack() {
    let _ = runtime::release_thread_stack();
}

/// One function of a [`LoadedProgram`], looked up once ([`LoadedProgram::function`]) so
/// that calls skip the lookup. It borrows the program, whose code therefore
/// stays mapped while it exists.
#[derive(Copy, Clone)]
pub struct Function<'p> {
    program: &'p LoadedProgram,
    func: ModuleFunc<'p>,
}

impl Function<'_> {
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
        interrupt: Option<&LimitInterrupt>,
    ) -> io::Result<Result<i64, Fault>> {
        Ok(match self.func.call(args, interrupt)? {
            Exit::Returned(value) => Ok(value),
            Exit::Trapped { offset } => Err(self.program.trap_cause(offset)),
            Exit::Interrupted => Err(interrupted()),
        })
    }

    /// How many arguments the function takes.
    #[inline(always)]
    pub fn arity(&self) -> usize {
        self.func.arity()
    }

    /// The inlined common case of a call without an interrupt (see
    /// `ModuleFunc::call_quick`): the value, or what [`Self::after_miss`]
    /// turns into the call's result.
    #[inline(always)]
    pub fn call_quick(&self, args: &[i64]) -> Result<i64, Miss> {
        self.func.call_quick(args)
    }

    /// Like [`Self::call_quick`], for a length known only at run time:
    /// one path whatever it is (see `ModuleFunc::call_quick_loaded`).
    #[inline(always)]
    pub fn call_quick_loaded(&self, args: &[i64]) -> Result<i64, Miss> {
        self.func.call_quick_loaded(args)
    }

    /// The direct part of [`Self::call_quick_loaded`]: `None` unless the
    /// function is called directly and `args` has its length.
    #[inline(always)]
    pub fn call_direct_loaded(&self, args: &[i64]) -> Option<i64> {
        self.func.call_direct_loaded(args)
    }

    /// The result of a call whose [`Self::call_quick`] missed: the trap's
    /// cause, or the call made the slow way.
    pub fn after_miss(&self, args: &[i64], miss: Miss) -> io::Result<Result<i64, Fault>> {
        match miss {
            Miss::Trapped(offset) => Ok(Err(self.program.trap_cause(offset))),
            Miss::NotRun => self.call(args, None),
        }
    }

    /// Calls the function once per row (see `ModuleFunc::call_many`); on
    /// an error, the row it stopped at.
    pub fn call_many(
        &self,
        rows: &[i64],
        stride: usize,
        out: &mut [i64],
        interrupt: Option<&LimitInterrupt>,
    ) -> io::Result<Result<(), (usize, Fault)>> {
        Ok(match self.func.call_many(rows, stride, out, interrupt)? {
            BatchExit::Done => Ok(()),
            BatchExit::Trapped { row, offset } => Err((row, self.program.trap_cause(offset))),
            BatchExit::Interrupted { row } => Err((row, interrupted())),
        })
    }
}
