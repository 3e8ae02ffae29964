//! Running JIT code: the dedicated stack, the context record at its base and
//! the safe entry point that calls generated functions through the entry
//! trampoline.
//!
//! The contract this module and generated code share (the stack's size and
//! alignment, the context record, the reserve below the limit, the trap
//! exit) is written down once, in [`crate::abi`].

use std::cell::{Cell, RefCell};
use std::io;
use std::ptr;
use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};

use super::mem::{self, ExecutableCode, PAGE_SIZE};
use crate::abi::{REGISTER_ARGS, STACK_RESERVE, STACK_SIZE, StackContext};
use crate::artifact::CodePiece;

/// A stack of [`STACK_SIZE`] bytes aligned to its size. Layout from the base:
/// one page holding the [`StackContext`], one inaccessible guard page, then the
/// usable stack growing down from the top.
pub struct JitStack {
    base: *mut u8,
}

impl JitStack {
    pub fn new() -> io::Result<JitStack> {
        let stack = JitStack {
            base: mem::reserve_aligned(STACK_SIZE)?.as_ptr(),
        };
        // The context page, then (after one page left inaccessible as a
        // guard) the usable stack.
        stack.make_read_write(0, PAGE_SIZE)?;
        stack.make_read_write(2 * PAGE_SIZE, STACK_SIZE - 2 * PAGE_SIZE)?;
        stack.reset_context();
        Ok(stack)
    }

    /// Puts the context record in its idle state: the normal limit and no
    /// trap. A call stores only its module's limit (see
    /// `ModuleFunc::start_limit`), so one that returns normally leaves the rest
    /// as it was.
    fn reset_context(&self) {
        // SAFETY: the context page is mapped read+write and owned by this
        // stack, and no JIT code runs on it (callers hold the stack).
        unsafe {
            self.context().write(StackContext {
                limit: AtomicU64::new(self.limit()),
                saved_rsp: 0,
                trap_pc: 0,
                batch_out: 0,
            });
        }
    }

    fn make_read_write(&self, offset: usize, len: usize) -> io::Result<()> {
        // SAFETY: the range lies inside the reservation this value owns and
        // holds no Rust objects (the context record is written afterwards).
        unsafe { mem::make_read_write(self.base.add(offset), len) }
    }

    #[inline(always)]
    fn context(&self) -> *mut StackContext {
        self.base.cast()
    }

    fn limit(&self) -> u64 {
        self.limit_for(STACK_SIZE)
    }

    /// The limit that gives calls `stack_size` bytes of stack below the top
    /// (at most all of it): the time and memory a runaway recursion takes
    /// before it overflows are proportional to this size. Inlined: it is
    /// on the path of every call, which is inlined into other crates.
    #[inline(always)]
    fn limit_for(&self, stack_size: usize) -> u64 {
        (self.base as usize + limit_offset(stack_size)) as u64
    }

    /// Gives the pages below the top [`WARM_STACK`] bytes back to the
    /// system: after an overflow, the touched stack (up to the whole
    /// [`STACK_SIZE`]) would otherwise stay resident for the thread's life.
    fn release_cold_pages(&self) -> io::Result<()> {
        let start = 2 * PAGE_SIZE;
        let end = STACK_SIZE - WARM_STACK;
        // SAFETY: the range lies inside the read+write part of the block
        // this value owns, below the context page; the stack is idle (the
        // caller holds it and no JIT code runs on it), so no frame lives
        // there, and the pages read as zero afterwards, which stack memory
        // may.
        unsafe { mem::discard_pages(self.base.add(start), end - start) }
    }

    #[inline(always)]
    fn top(&self) -> *mut i64 {
        // SAFETY: one past the end of the block this value owns.
        unsafe { self.base.add(STACK_SIZE).cast() }
    }
}

/// The top of a JIT stack that [`release_thread_stack`] keeps: what ordinary
/// calls use, so they do not fault the pages in again.
const WARM_STACK: usize = 256 * 1024;

/// Gives back the memory of this thread's JIT stack below its top
/// `WARM_STACK` bytes, if the thread has an idle stack. Called after a
/// stack overflow (and an interrupt, which may have stopped a deep
/// recursion), so that one runaway call does not pin up to a gigabyte for
/// the rest of the thread's life.
pub fn release_thread_stack() -> io::Result<()> {
    let base = IDLE_STACK.get();
    if base.is_null() {
        // No stack yet, or one in use (a re-entrant call): nothing to do.
        return Ok(());
    }
    // A view that does not own the mapping: `ManuallyDrop` never unmaps.
    let stack = std::mem::ManuallyDrop::new(JitStack { base });
    stack.release_cold_pages()
}

impl Drop for JitStack {
    fn drop(&mut self) {
        // SAFETY: the block is owned by this value and no JIT code runs on it:
        // a call borrows the stack for its whole duration, and the thread's
        // own stack is dropped only at thread exit, after `OwnedStack::drop`
        // has withdrawn the idle pointer that calls reach it by.
        unsafe { mem::release(self.base, STACK_SIZE) }
    }
}

thread_local! {
    /// One JIT stack per thread, made on first use and freed when the thread
    /// exits.
    static OWNED_STACK: OwnedStack = const { OwnedStack(RefCell::new(None)) };

    /// The base of [`OWNED_STACK`] while no call runs on it; null before
    /// the first call, during a call, and once the thread has freed it. A
    /// plain pointer with no destructor, so the common case of a call is a
    /// single thread-local load, with no lazy-initialisation or borrow-flag
    /// checks.
    static IDLE_STACK: Cell<*mut u8> = const { Cell::new(ptr::null_mut()) };
}

/// Owner of a thread's JIT stack; forgets the idle pointer before the stack
/// is unmapped at thread exit, so a late call (from another thread-local's
/// destructor) makes a fresh stack instead of using a freed one.
struct OwnedStack(RefCell<Option<JitStack>>);

impl Drop for OwnedStack {
    fn drop(&mut self) {
        IDLE_STACK.set(ptr::null_mut());
    }
}

/// Runs `run` with this thread's JIT stack, making it on first use.
///
/// This and the other functions on the path of a call are
/// `#[inline(always)]`: inlined into the caller's loop, a call costs little
/// more than the trampoline; left out of line (which LLVM chose for some
/// callers), the returned `Result`s go through memory and a call took 27%
/// (`a * 3 + b - (a / (b | 1))`) to 44% (`if a > b then a - b else b * 2 +
/// a`) longer in `cargo bench --bench formula`.
#[inline(always)]
fn with_thread_stack<R>(run: impl FnOnce(&JitStack) -> R) -> io::Result<R> {
    // Taking the pointer marks the stack busy until it is put back.
    let base = IDLE_STACK.replace(ptr::null_mut());
    if base.is_null() {
        return with_thread_stack_slow(run);
    }
    // Puts the stack back even if `run` panics, so that the thread keeps
    // its stack instead of making a temporary one for every later call.
    struct PutBack(*mut u8);
    impl Drop for PutBack {
        #[inline(always)]
        fn drop(&mut self) {
            IDLE_STACK.set(self.0);
        }
    }
    let _put_back = PutBack(base);
    // A view that does not own the mapping: `ManuallyDrop` never unmaps.
    let stack = std::mem::ManuallyDrop::new(JitStack { base });
    Ok(run(&stack))
}

/// The first call on a thread (makes the stack), a call during thread
/// teardown or a re-entrant call (both use a temporary stack).
#[cold]
#[inline(never)]
fn with_thread_stack_slow<R>(run: impl FnOnce(&JitStack) -> R) -> io::Result<R> {
    let made = OWNED_STACK.try_with(|owned| -> io::Result<bool> {
        let mut slot = owned.0.borrow_mut();
        if slot.is_some() {
            // The thread's stack exists but is not idle: a call is running
            // on it (JIT code cannot call back into Rust today, so this
            // would be a re-entrant call from a signal handler or similar).
            return Ok(false);
        }
        let stack = JitStack::new()?;
        IDLE_STACK.set(stack.base);
        *slot = Some(stack);
        Ok(true)
    });
    match made {
        Ok(Ok(true)) => with_thread_stack(run),
        Ok(Err(error)) => Err(error),
        Ok(Ok(false)) | Err(_) => Ok(run(&JitStack::new()?)),
    }
}

/// How a call into JIT code ended.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Exit {
    /// The function returned this value.
    Returned(i64),
    /// A trap fired; `offset` is the trap site's return address as an offset
    /// into the code, which the code generator's trap table maps to a cause.
    Trapped { offset: usize },
    /// An [`LimitInterrupt`] stopped the call at a function entry.
    Interrupted,
}

/// How a batch call into JIT code ended.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum BatchExit {
    /// Every row ran; the results are stored.
    Done,
    /// Row `row` trapped (the rows before it have their results).
    Trapped { row: usize, offset: usize },
    /// An [`LimitInterrupt`] stopped the batch at row `row`.
    Interrupted { row: usize },
}

/// Stops a running call from another thread or from a signal handler.
///
/// While a call made with this interrupt runs, `running` points at the
/// context of its stack. [`LimitInterrupt::request`] raises that context's limit
/// so the next function entry traps. To keep the context from going away
/// while it is written, a requester swaps in the `BUSY` marker and puts the
/// pointer back afterwards, and the call waits for the pointer to come back
/// before it clears it. The requester never waits, so it is safe in a signal
/// handler interrupting the calling thread itself.
#[derive(Debug, Default)]
pub struct LimitInterrupt {
    running: AtomicPtr<StackContext>,
}

/// Marks an [`LimitInterrupt`] whose running context is being written.
const BUSY: *mut StackContext = ptr::dangling_mut();

impl LimitInterrupt {
    pub const fn new() -> LimitInterrupt {
        LimitInterrupt {
            running: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// Stops the call currently running with this interrupt, if any, at its
    /// next function entry. Only atomic operations: async-signal-safe.
    pub fn request(&self) {
        let ctx = self.running.swap(BUSY, Ordering::SeqCst);
        if ctx.is_null() || ctx == BUSY {
            // Nothing running, or another request is writing: done either way.
            if ctx.is_null() {
                self.running.store(ptr::null_mut(), Ordering::SeqCst);
            }
            return;
        }
        // SAFETY: `ctx` was published by `begin` and is not withdrawn by
        // `end` until we put it back below, so the context page is mapped.
        unsafe { (*ctx).limit.store(u64::MAX, Ordering::SeqCst) };
        self.running.store(ctx, Ordering::SeqCst);
    }

    /// Publishes `ctx` as the context a request should stop. The caller
    /// keeps `ctx` alive until [`Self::end`]; only its atomic `limit` is
    /// written. (The reference interpreter uses this too, with a context of
    /// its own that it polls.)
    pub(crate) fn begin(&self, ctx: *mut StackContext) {
        // A request made while nothing ran has nothing to stop.
        while self
            .running
            .compare_exchange(ptr::null_mut(), ctx, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            std::hint::spin_loop();
        }
    }

    /// Watches for a request while no JIT code runs (a REPL compiling a
    /// long `:load`): until the [`Watch`] is dropped, a request only marks
    /// it, and [`Watch::requested`] says so. A call made with this
    /// interrupt waits for the watch to be dropped.
    pub fn watch(&self) -> Watch<'_> {
        let context = Box::new(StackContext::default());
        let ptr = ptr::from_ref(&*context).cast_mut();
        self.begin(ptr);
        Watch {
            interrupt: self,
            context,
        }
    }

    /// Withdraws `ctx`, waiting for a request that is writing it to finish.
    pub(crate) fn end(&self, ctx: *mut StackContext) {
        while self
            .running
            .compare_exchange(ctx, ptr::null_mut(), Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            std::hint::spin_loop();
        }
    }
}

/// A [`LimitInterrupt::watch`] in force.
pub struct Watch<'a> {
    interrupt: &'a LimitInterrupt,
    /// What a request writes to (its `limit`), as to a running stack's.
    context: Box<StackContext>,
}

impl Watch<'_> {
    /// Whether the interrupt was requested since the watch began.
    pub fn requested(&self) -> bool {
        self.context.limit.load(Ordering::SeqCst) == u64::MAX
    }
}

impl Drop for Watch<'_> {
    fn drop(&mut self) {
        self.interrupt
            .end(ptr::from_ref(&*self.context).cast_mut());
    }
}

/// The interrupt the SIGINT handler requests (see [`install_sigint_handler`]).
static SIGINT_TARGET: AtomicPtr<LimitInterrupt> = AtomicPtr::new(ptr::null_mut());

extern "C" fn on_sigint(_signal: libc::c_int) {
    let target = SIGINT_TARGET.load(Ordering::SeqCst);
    if !target.is_null() {
        // SAFETY: only `install_sigint_handler` stores here, and it stores a
        // `&'static LimitInterrupt`.
        unsafe { (*target).request() };
    }
}

/// Makes SIGINT (Ctrl-C) request `interrupt` instead of killing the
/// process.
pub fn install_sigint_handler(interrupt: &'static LimitInterrupt) -> io::Result<()> {
    SIGINT_TARGET.store(ptr::from_ref(interrupt).cast_mut(), Ordering::SeqCst);
    // SAFETY: `on_sigint` only performs atomic operations, which are
    // async-signal-safe; the sigaction struct is fully initialised.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_sigint as extern "C" fn(libc::c_int) as libc::sighandler_t;
        action.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut action.sa_mask);
        if libc::sigaction(libc::SIGINT, &action, ptr::null_mut()) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Where a function starts in a [`Module`] and how many arguments it takes.
///
/// Offsets into the code and the arity are `u32` (the code is far below
/// 4 GiB): a module keeps one a function, 100,000 of them for a large
/// program, at half the size.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct FuncEntry {
    pub offset: u32,
    pub arity: u32,
    /// The batch entry for this arity, if the code has one.
    pub batch: Option<u32>,
    /// Whether the function may be called directly, on the caller's stack
    /// (`crate::abi`, "Direct calls"): it has no trap site and at most
    /// `REGISTER_ARGS` parameters.
    pub direct: bool,
    /// The function's argument loader, if the code has one.
    pub loader: Option<u32>,
    /// Whether a trap in the function can return to a direct caller
    /// (`crate::abi`, "Direct calls"), so that it is called directly too.
    pub traps_return: bool,
}

/// Executable code produced by the code generator, with its entry trampoline
/// and the table of functions that may be called from Rust.
///
/// Soundness rests on the code generator: `enter` must be the trampoline
/// described at `EnterFn`, and each function at `funcs[i].offset` must take
/// `funcs[i].arity` integer arguments as System V does (popping those passed
/// on the stack itself) and follow the stack-check and trap contract in the
/// module docs. That is why only the
/// crate can build one.
pub struct Module {
    code: ExecutableCode,
    enter: usize,
    funcs: Vec<FuncEntry>,
    /// Where its calls' stack limit lies above a JIT stack's base, for the
    /// stack size set by [`Module::set_stack_size`] (precomputed: every
    /// call needs it).
    limit_offset: usize,
}

impl Module {
    /// Loads code into executable memory, `len` bytes of which `pieces`
    /// hold (the rest `int3` padding), with the function table `funcs`
    /// makes. See the type's docs for what the code must guarantee.
    ///
    /// The pieces' buffers go back as they are moved into the pages (see
    /// [`ExecutableCode::from_pieces`]), before the table is made, which
    /// then takes their room: a large program's code is in memory once,
    /// not twice, and never beside the table.
    pub(crate) fn load(
        pieces: Vec<CodePiece>,
        len: usize,
        enter: usize,
        funcs: impl FnOnce() -> Vec<FuncEntry>,
    ) -> io::Result<Module> {
        assert!(enter < len);
        let executable = ExecutableCode::from_pieces(pieces, len)?;
        let funcs = funcs();
        assert!(funcs.iter().all(|f| (f.offset as usize) < len));
        Ok(Module {
            code: executable,
            enter,
            funcs,
            limit_offset: limit_offset(STACK_SIZE),
        })
    }

    /// Lets calls into this module use `bytes` of stack (at most
    /// [`STACK_SIZE`], the default; at least [`MIN_STACK_SIZE`]) before a
    /// recursion is a stack overflow.
    pub fn set_stack_size(&mut self, bytes: usize) {
        self.limit_offset = limit_offset(bytes.clamp(MIN_STACK_SIZE, STACK_SIZE));
    }

    pub fn code(&self) -> &ExecutableCode {
        &self.code
    }

    /// Overwrites code at `offset` (see [`ExecutableCode::patch`]).
    pub fn patch(&mut self, offset: usize, bytes: &[u8]) -> io::Result<()> {
        self.code.patch(offset, bytes)
    }

    /// Function `index`, ready to be called repeatedly without looking it up
    /// again; `None` if there is no such function.
    pub fn func(&self, index: usize) -> Option<ModuleFunc<'_>> {
        let func = self.funcs.get(index)?;
        let base = self.code.base();
        Some(ModuleFunc {
            module: self,
            enter: base as usize + self.enter,
            entry: base as usize + func.offset as usize,
            batch: func.batch.map(|offset| base as usize + offset as usize),
            arity: func.arity as usize,
            direct: func.direct && func.arity as usize <= REGISTER_ARGS,
            direct_trapping: func.traps_return && func.arity as usize <= REGISTER_ARGS,
            code_base: base as usize,
            loader: func.loader.map(|offset| base as usize + offset as usize),
            direct_loaded_arity: if func.direct && func.loader.is_some() {
                func.arity as usize
            } else {
                usize::MAX
            },
            limit_offset: self.limit_offset,
        })
    }

    /// Calls function `index` with `args` on this thread's JIT stack.
    ///
    /// # Panics
    /// If `index` is out of range or `args.len()` is not the function's arity
    /// (both are bugs in the caller, which knows the signatures).
    #[cfg(test)]
    pub fn call(
        &self,
        index: usize,
        args: &[i64],
        interrupt: Option<&LimitInterrupt>,
    ) -> io::Result<Exit> {
        let func = self.func(index).expect("function index out of range");
        func.call(args, interrupt)
    }

    /// After a trap or an interruptible call: reads how the call ended and
    /// makes the context idle again (an interrupt may have raised the limit
    /// even after the function returned).
    #[cold]
    #[inline(never)]
    fn finish_call(&self, stack: &JitStack, result: i64, trap_pc: u64) -> Exit {
        // SAFETY: the context page is mapped and the call is over (any
        // interrupt has let go of it), so only this thread reads it.
        let interrupted = unsafe { (*stack.context()).limit.load(Ordering::SeqCst) } == u64::MAX;
        stack.reset_context();
        if trap_pc == 0 {
            Exit::Returned(result)
        } else if interrupted {
            Exit::Interrupted
        } else {
            Exit::Trapped {
                offset: (trap_pc as usize).wrapping_sub(self.code.base() as usize),
            }
        }
    }
}

impl Module {
    /// After a trap in a call made without an interrupt: makes the context
    /// idle again and returns the trap site's offset into the code.
    #[cold]
    #[inline(never)]
    fn after_trap(&self, base: *mut u8, trap_pc: u64) -> usize {
        // A view that does not own the mapping: `ManuallyDrop` never unmaps.
        let stack = std::mem::ManuallyDrop::new(JitStack { base });
        stack.reset_context();
        (trap_pc as usize).wrapping_sub(self.code.base() as usize)
    }
}

/// How far above a JIT stack's base the limit lies that gives calls
/// `stack_size` bytes of stack below the top (at most all of it).
fn limit_offset(stack_size: usize) -> usize {
    (STACK_SIZE - stack_size.min(STACK_SIZE)).max(2 * PAGE_SIZE) + STACK_RESERVE
}

/// The smallest stack [`Module::set_stack_size`] accepts: the reserve below
/// the limit and a few frames above it.
pub const MIN_STACK_SIZE: usize = STACK_RESERVE + 16 * PAGE_SIZE;

/// One function of a [`Module`], looked up once ([`Module::func`]): its
/// addresses are computed, so a call loads nothing but its arguments. It
/// borrows the module, so the code stays mapped while it exists.
#[derive(Copy, Clone)]
pub struct ModuleFunc<'m> {
    module: &'m Module,
    /// The entry trampoline.
    enter: usize,
    /// The function's first instruction.
    entry: usize,
    /// The batch entry for the function's arity, if there is one.
    batch: Option<usize>,
    arity: usize,
    /// Called without the trampoline ([`FuncEntry::direct`]).
    direct: bool,
    /// Called without the trampoline though it can trap
    /// ([`FuncEntry::traps_return`]).
    direct_trapping: bool,
    /// Where the module's code starts, to turn a trap key into an offset.
    code_base: usize,
    /// The function's argument loader, if there is one.
    loader: Option<usize>,
    /// The arity if the function may be called directly and has a loader;
    /// else `usize::MAX`, which no argument list has.
    direct_loaded_arity: usize,
    /// The module's [`Module::limit_offset`], copied so that a call does
    /// not load it through the module.
    limit_offset: usize,
}

/// Why [`ModuleFunc::call_quick`] returned no value.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Miss {
    /// The call did not run (the thread's stack was not idle, or the
    /// function takes stack arguments): make it with [`ModuleFunc::call`].
    NotRun,
    /// A trap at this offset into the code stopped the call; the stack is
    /// idle again.
    Trapped(usize),
}

impl ModuleFunc<'_> {
    /// Calls the function with `args` on this thread's JIT stack;
    /// `interrupt`, if given, can stop the call.
    ///
    /// # Panics
    /// If `args.len()` is not the function's arity (a bug in the caller).
    #[inline(always)]
    pub fn call(&self, args: &[i64], interrupt: Option<&LimitInterrupt>) -> io::Result<Exit> {
        if interrupt.is_none() {
            match self.call_quick(args) {
                Ok(value) => return Ok(Exit::Returned(value)),
                Err(Miss::Trapped(offset)) => return Ok(Exit::Trapped { offset }),
                Err(Miss::NotRun) => {}
            }
        }
        self.call_slow(args, interrupt)
    }

    /// How many arguments the function takes.
    #[inline(always)]
    pub fn arity(&self) -> usize {
        self.arity
    }

    /// Like [`Self::call_quick`], for arguments whose number the caller's
    /// compiler does not know: the function's argument loader (see
    /// `crate::abi`, "Direct calls") loads them, by one short sequence
    /// made with the code rather than by a branch on the length here, and
    /// falls into the function, called directly or through the trampoline.
    /// (A loader that jumped to the function, one per arity, cost a taken
    /// branch more per call, which was visible next to a call of 2 ns.)
    ///
    /// # Panics
    /// If `args.len()` is not the function's arity (a bug in the caller).
    #[inline(always)]
    pub fn call_quick_loaded(&self, args: &[i64]) -> Result<i64, Miss> {
        if let Some(value) = self.call_direct_loaded(args) {
            return Ok(value);
        }
        let Some(loader) = self.loader else {
            // No loader (more than six parameters, or code made without
            // them).
            return self.call_quick_out_of_line(args);
        };
        assert_eq!(args.len(), self.arity, "wrong number of arguments");
        if self.direct_trapping {
            let result: i64;
            let key: usize;
            // SAFETY: as in `call_direct_loaded`, for a function whose
            // traps return to a direct caller (`FuncEntry::traps_return`),
            // called with the context register and `TRAP_KEY` zero
            // (`crate::abi`, "Direct calls").
            unsafe {
                std::arch::asm!(
                    "call {loader}",
                    loader = in(reg) loader,
                    in("r10") args.as_ptr(),
                    in("r15") 0usize,
                    inlateout("r12") 0usize => key,
                    lateout("rax") result,
                    clobber_abi("sysv64"),
                );
            }
            if key != 0 {
                return Err(Miss::Trapped(key - self.code_base));
            }
            return Ok(result);
        }
        self.on_idle_stack(|stack| {
            let ctx = stack.context();
            let sp = stack.top() as usize;
            let result: i64;
            // SAFETY: as in `enter`, with the argument loader as the
            // function the trampoline calls: it loads `args.len()` values
            // from `args` (valid for the call) into their registers and
            // falls into the function, of that many arguments, on the JIT
            // stack (`crate::abi`, "Direct calls"); the clobbers are the
            // trampoline's.
            unsafe {
                std::arch::asm!(
                    "call {enter}",
                    enter = in(reg) self.enter,
                    inlateout("rax") loader => result,
                    in("r10") args.as_ptr(),
                    in("r11") sp,
                    in("r15") ctx,
                    lateout("r12") _,
                    lateout("r13") _,
                    lateout("r14") _,
                    clobber_abi("sysv64"),
                );
            }
            // SAFETY: the context page is mapped; the call is over.
            (result, unsafe { (*ctx).trap_pc })
        })
    }

    /// The direct call of [`Self::call_quick_loaded`]: `None` unless the
    /// function may be called directly, has a loader and `args` holds its
    /// number of arguments. One compare decides all three (against
    /// `direct_loaded_arity`), so that the caller's loop has one flag to
    /// test, not three: with more, the compiler kept testing them on every
    /// call through a chain of jumps instead of taking them out of the loop.
    #[inline(always)]
    pub fn call_direct_loaded(&self, args: &[i64]) -> Option<i64> {
        if args.len() != self.direct_loaded_arity {
            return None;
        }
        let loader = self.loader?;
        let result: i64;
        // SAFETY: `direct_loaded_arity` is the arity only for a function
        // that may be called directly (`FuncEntry::direct`) and has an
        // argument loader (`Module::func`), and `args` holds that many
        // values; the loader, in the code of the module this value
        // borrows, which stays mapped, reads them from `args` and falls
        // into the function, which follows System V (`clobber_abi`) and
        // returns here (`crate::abi`, "Direct calls").
        unsafe {
            std::arch::asm!(
                "call {loader}",
                loader = in(reg) loader,
                in("r10") args.as_ptr(),
                lateout("rax") result,
                clobber_abi("sysv64"),
            );
        }
        Some(result)
    }

    /// [`Self::call_quick`] for a length the caller's compiler does not
    /// know and no loader, out of line: inlined, its choice among the
    /// lengths kept more values alive in the caller's loop than there are
    /// registers.
    #[inline(never)]
    fn call_quick_out_of_line(&self, args: &[i64]) -> Result<i64, Miss> {
        self.call_quick(args)
    }

    /// The common case of a call, kept to the instructions it needs and
    /// inlined into the caller: a function without trap sites is called
    /// directly (`crate::abi`, "Direct calls"); another, when the thread's
    /// stack is idle and the arguments fit in registers, costs one
    /// thread-local load and store each way, the arguments moved into
    /// their registers, the trampoline and one load to see that no trap
    /// fired. The result is small enough to stay in registers, so the
    /// caller's loop keeps the value path free of the error types.
    ///
    /// # Panics
    /// If `args.len()` is not the function's arity (a bug in the caller).
    #[inline(always)]
    pub fn call_quick(&self, args: &[i64]) -> Result<i64, Miss> {
        assert_eq!(args.len(), self.arity, "wrong number of arguments");
        if self.direct {
            // SAFETY: `entry` is a function of `args.len()` arguments with
            // no trap site in the code of the module this value borrows
            // (`FuncEntry::direct`, checked by `Module::load`'s caller),
            // which stays mapped; such a function is an ordinary System V
            // function (`crate::abi`, "Direct calls").
            return Ok(unsafe { call_direct(self.entry, args) });
        }
        if self.direct_trapping {
            // SAFETY: as above, for a function whose traps return to a
            // direct caller (`FuncEntry::traps_return`).
            let (result, key) = unsafe { call_direct_trapping(self.entry, args) };
            if key != 0 {
                return Err(Miss::Trapped(key - self.code_base));
            }
            return Ok(result);
        }
        if args.len() > REGISTER_ARGS {
            return Err(Miss::NotRun);
        }
        self.on_idle_stack(|stack| self.enter(stack, args))
    }

    /// Runs `enter` (which calls the function through the trampoline and
    /// returns the result register and the context's `trap_pc`) on this
    /// thread's idle JIT stack, if it has one; makes the context idle
    /// again after a trap.
    #[inline(always)]
    fn on_idle_stack(&self, enter: impl FnOnce(&JitStack) -> (i64, u64)) -> Result<i64, Miss> {
        // Taking the pointer marks the stack busy until it is put back.
        // Nothing between here and the put-back can panic or re-enter.
        let base = IDLE_STACK.replace(ptr::null_mut());
        if base.is_null() {
            // Null already: nothing to put back.
            return Err(Miss::NotRun);
        }
        // A view that does not own the mapping: never unmapped here.
        let stack = std::mem::ManuallyDrop::new(JitStack { base });
        self.start_limit(&stack);
        let (result, trap_pc) = enter(&stack);
        if trap_pc != 0 {
            let offset = self.module.after_trap(base, trap_pc);
            IDLE_STACK.set(base);
            return Err(Miss::Trapped(offset));
        }
        IDLE_STACK.set(base);
        Ok(result)
    }

    /// A call with an interrupt or stack arguments, or the first call on a
    /// thread (which makes its stack), or a re-entrant one.
    #[cold]
    #[inline(never)]
    fn call_slow(&self, args: &[i64], interrupt: Option<&LimitInterrupt>) -> io::Result<Exit> {
        with_thread_stack(|stack| {
            let ctx = stack.context();
            // Before the interrupt can see the context, so that a request
            // is never overwritten.
            self.start_limit(stack);
            if let Some(interrupt) = interrupt {
                interrupt.begin(ctx);
            }
            let (result, trap_pc) = self.enter(stack, args);
            if let Some(interrupt) = interrupt {
                interrupt.end(ctx);
            } else if trap_pc == 0 {
                // Nothing could have written the context: it is still idle.
                return Exit::Returned(result);
            }
            self.module.finish_call(stack, result, trap_pc)
        })
    }

    /// Sets the limit of `stack`'s idle context to the one for this
    /// module's stack size: one store, so that the default and a
    /// configured size cost the same.
    #[inline(always)]
    fn start_limit(&self, stack: &JitStack) {
        // SAFETY: the context page is mapped read+write and owned by the
        // stack, on which no JIT code runs yet; `limit` is atomic.
        let wanted = stack.base as u64 + self.limit_offset as u64;
        unsafe {
            // Stored every time: fewer instructions than a load and a
            // compare to skip it when unchanged, and the entry check that
            // reloads it gets it by store forwarding.
            (*stack.context()).limit.store(wanted, Ordering::Relaxed);
        }
    }

    /// Runs the function on `stack`, which must be idle (its context as
    /// [`JitStack::reset_context`] leaves it, or with an interrupt begun on
    /// it); returns the result register and the context's `trap_pc`.
    #[inline(always)]
    fn enter(&self, stack: &JitStack, args: &[i64]) -> (i64, u64) {
        let stack_args = args.len().saturating_sub(REGISTER_ARGS);

        // Stack arguments sit at the new stack pointer, which must be 16-byte
        // aligned at the call. A huge argument list would not leave room for
        // frames; the limit check in the callee then reports stack overflow.
        let usable = STACK_SIZE - 2 * PAGE_SIZE - STACK_RESERVE - PAGE_SIZE;
        assert!(
            stack_args * 8 < usable,
            "too many arguments for the JIT stack"
        );
        // The top itself is aligned (the stack is aligned to its size):
        // without stack arguments there is nothing to round.
        let sp = if stack_args == 0 {
            stack.top() as usize
        } else {
            (stack.top() as usize - stack_args * 8) & !15
        };
        if stack_args > 0 {
            // SAFETY: `sp..sp+stack_args` lies inside the read+write part of
            // the stack (checked above) and nothing else uses the stack now.
            unsafe {
                std::ptr::copy_nonoverlapping(
                    args[REGISTER_ARGS..].as_ptr(),
                    sp as *mut i64,
                    stack_args,
                );
            }
        }
        // The context is idle (no trap; the limit set by `start_limit`)
        // between calls: the trampoline stores `saved_rsp` itself.
        let ctx = stack.context();
        // SAFETY: `enter` is the entry trampoline and `entry` a function of
        // `args.len()` arguments (checked by `call`) in the code of the
        // module this value borrows, which stays mapped (the contract of
        // `Module::load`); the stack, context and argument memory are valid
        // for the duration of the call; generated code only touches its own
        // stack and returns (normally or through the trap exit) to here,
        // with the registers the asm block declares clobbered changed and
        // no others: the trampoline saves `rbx` and `rbp`, JIT code never
        // writes `r15`, and every other register is in the clobber list
        // (`crate::abi`, "Entering JIT code").
        let result = unsafe {
            // One asm block per number of register arguments, so that no
            // unused argument register is set (the `match` folds away when
            // the length is a constant).
            macro_rules! enter {
                ($($reg:tt = $index:expr),*) => {{
                    let result: i64;
                    std::arch::asm!(
                        "call r10",
                        in("r10") self.enter,
                        inlateout("rax") self.entry => result,
                        in("r11") sp,
                        in("r15") ctx,
                        $(inlateout($reg) args[$index] => _,)*
                        // JIT code's callee-saved registers but rbx, which
                        // a trap leaves changed (`crate::abi::CALLEE_SAVED`).
                        lateout("r12") _,
                        lateout("r13") _,
                        lateout("r14") _,
                        clobber_abi("sysv64"),
                    );
                    result
                }};
            }
            match args.len() {
                0 => enter!(),
                1 => enter!("rdi" = 0),
                2 => enter!("rdi" = 0, "rsi" = 1),
                3 => enter!("rdi" = 0, "rsi" = 1, "rdx" = 2),
                4 => enter!("rdi" = 0, "rsi" = 1, "rdx" = 2, "rcx" = 3),
                5 => enter!("rdi" = 0, "rsi" = 1, "rdx" = 2, "rcx" = 3, "r8" = 4),
                _ => enter!("rdi" = 0, "rsi" = 1, "rdx" = 2, "rcx" = 3, "r8" = 4, "r9" = 5),
            }
        };
        // SAFETY: the context page is mapped; the call is over.
        (result, unsafe { (*ctx).trap_pc })
    }

    /// Calls the function once per row of `rows` (a row every `stride`
    /// values, its first `arity` values the arguments), storing the results
    /// in `out`, in one entry into the JIT stack: the loop runs in the
    /// generated batch entry. A trap or an interrupt stops the batch at
    /// the row it happened in.
    ///
    /// # Panics
    /// If the code has no batch entry for the arity, `stride` is below the
    /// arity, or `rows` does not hold exactly `out.len()` rows (bugs in the
    /// caller, which checks the shapes).
    pub fn call_many(
        &self,
        rows: &[i64],
        stride: usize,
        out: &mut [i64],
        interrupt: Option<&LimitInterrupt>,
    ) -> io::Result<BatchExit> {
        let batch = self.batch.expect("code compiled with batch entries");
        assert!(stride >= self.arity, "a row shorter than the arity");
        assert_eq!(
            Some(rows.len()),
            out.len().checked_mul(stride),
            "rows and outputs differ in number"
        );
        if out.is_empty() {
            return Ok(BatchExit::Done);
        }
        let out_start = out.as_mut_ptr() as usize;
        let out_end = out_start + 8 * out.len();
        with_thread_stack(|stack| {
            let ctx = stack.context();
            self.start_limit(stack);
            if let Some(interrupt) = interrupt {
                interrupt.begin(ctx);
            }
            let sp = stack.top() as usize & !15;
            // SAFETY: as in `enter`: `batch` is the batch entry for this
            // function's arity in the code of the module this value
            // borrows; it reads `stride * 8`-byte rows from `rows` (which
            // holds exactly `out.len()` of them, checked above) and writes
            // one result per row into `out`, both valid and not otherwise
            // used for the duration of the call; the clobbers are those of
            // the entry trampoline (`crate::abi`, "Entering JIT code").
            let (trap_pc, batch_out) = unsafe {
                std::arch::asm!(
                    "call r10",
                    in("r10") batch,
                    inlateout("rax") self.entry => _,
                    in("r11") sp,
                    in("r15") ctx,
                    inlateout("rdi") rows.as_ptr() => _,
                    inlateout("rsi") 8 * stride => _,
                    inlateout("rdx") out_start => _,
                    inlateout("rcx") out_end => _,
                    lateout("r12") _,
                    lateout("r13") _,
                    lateout("r14") _,
                    clobber_abi("sysv64"),
                );
                ((*ctx).trap_pc, (*ctx).batch_out)
            };
            if let Some(interrupt) = interrupt {
                interrupt.end(ctx);
            } else if trap_pc == 0 {
                return BatchExit::Done;
            }
            let row = (batch_out as usize).saturating_sub(out_start) / 8;
            match self.module.finish_call(stack, 0, trap_pc) {
                Exit::Returned(_) => BatchExit::Done,
                Exit::Trapped { offset } => BatchExit::Trapped { row, offset },
                Exit::Interrupted => BatchExit::Interrupted { row },
            }
        })
    }
}

/// Expands `$direct!` (an asm block taking `"reg" = index` pairs) for the
/// length of `$args`, so that each arity sets only its argument registers;
/// the `match` folds away when the length is a constant.
macro_rules! by_arity {
    ($args:expr, $direct:ident) => {
        match $args.len() {
            0 => $direct!(),
            1 => $direct!("rdi" = 0),
            2 => $direct!("rdi" = 0, "rsi" = 1),
            3 => $direct!("rdi" = 0, "rsi" = 1, "rdx" = 2),
            4 => $direct!("rdi" = 0, "rsi" = 1, "rdx" = 2, "rcx" = 3),
            5 => $direct!("rdi" = 0, "rsi" = 1, "rdx" = 2, "rcx" = 3, "r8" = 4),
            6 => $direct!("rdi" = 0, "rsi" = 1, "rdx" = 2, "rcx" = 3, "r8" = 4, "r9" = 5),
            _ => unreachable!("a direct call passes every argument in a register"),
        }
    };
}

/// Like [`call_direct`], for a function that can trap and whose traps
/// return to a direct caller: calls it with the context register and
/// [`crate::abi::TRAP_KEY`] zero; returns the result register and the trap
/// key (zero if the function returned).
///
/// # Safety
/// `entry` must be the address of a function whose traps return to a
/// direct caller (`crate::abi`, "Direct calls") and that takes
/// `args.len()` arguments, in code that stays mapped during the call.
#[inline(always)]
unsafe fn call_direct_trapping(entry: usize, args: &[i64]) -> (i64, usize) {
    macro_rules! direct {
        ($($reg:tt = $index:expr),*) => {{
            let result: i64;
            let key: usize;
            // SAFETY: the caller's contract; the function follows System
            // V (`clobber_abi`) on both ways out, pops nothing, writes no
            // callee-saved register but `TRAP_KEY` (on a trap), and reads
            // the context register only to see that it is zero.
            unsafe {
                std::arch::asm!(
                    "call {entry}",
                    entry = in(reg) entry,
                    $(inlateout($reg) args[$index] => _,)*
                    in("r15") 0usize,
                    inlateout("r12") 0usize => key,
                    lateout("rax") result,
                    clobber_abi("sysv64"),
                );
            }
            (result, key)
        }};
    }
    by_arity!(args, direct)
}

/// Calls `entry` as a System V function of `args.len()` (at most
/// [`REGISTER_ARGS`]) arguments on the current stack: one `call`, with the
/// arguments in the registers that carry them and nothing else loaded.
/// One asm block per arity, so that no unused register is set; the `match`
/// folds away when the length is a constant.
///
/// # Safety
/// `entry` must be the address of a function that may be called directly
/// (`crate::abi`, "Direct calls") and takes `args.len()` arguments, in
/// code that stays mapped during the call.
#[inline(always)]
unsafe fn call_direct(entry: usize, args: &[i64]) -> i64 {
    macro_rules! direct {
        ($($reg:tt = $index:expr),*) => {{
            let result: i64;
            // SAFETY: the caller's contract; the function follows System V
            // (`clobber_abi`), pops nothing and returns normally.
            unsafe {
                std::arch::asm!(
                    "call {entry}",
                    entry = in(reg) entry,
                    $(inlateout($reg) args[$index] => _,)*
                    lateout("rax") result,
                    clobber_abi("sysv64"),
                );
            }
            result
        }};
    }
    by_arity!(args, direct)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::STACK_BASE_MASK;

    #[test]
    fn stack_is_aligned_to_its_size() {
        let stack = JitStack::new().unwrap();
        assert_eq!(stack.base as usize % STACK_SIZE, 0);
        assert_eq!(
            (stack.top() as usize - 8) as i64 & STACK_BASE_MASK as i64,
            stack.base as i64
        );
    }

    fn load(source: &str) -> crate::jit::LoadedProgram {
        let mut timings = crate::pipeline::Timings::default();
        let program = crate::pipeline::front_end(source, &mut timings).unwrap();
        crate::pipeline::back_end(&program, &mut timings).unwrap()
    }

    #[test]
    fn a_thread_keeps_its_stack_and_other_threads_get_their_own() {
        // A loop (a tail call) checks the stack, so the call runs on the
        // JIT stack.
        let program = load("fn f(x) = if x > 1 then f(x - 1) else 2 / x");
        let call_and_see_stack = || {
            assert_eq!(
                program.module.call(0, &[1], None).unwrap(),
                Exit::Returned(2)
            );
            IDLE_STACK.get() as usize
        };
        let first = call_and_see_stack();
        assert_ne!(first, 0);
        assert_eq!(call_and_see_stack(), first);
        let other = std::thread::scope(|scope| scope.spawn(call_and_see_stack).join().unwrap());
        assert_ne!(other, first);
    }

    #[test]
    fn a_call_during_a_call_gets_a_temporary_stack() {
        let bases = with_thread_stack(|outer| {
            let inner = with_thread_stack(|inner| inner.base).unwrap();
            (outer.base, inner)
        })
        .unwrap();
        assert_ne!(bases.0, bases.1);
        // The thread's own stack is idle again afterwards.
        assert_eq!(IDLE_STACK.get(), bases.0);
    }

    #[test]
    fn only_functions_without_trap_sites_are_called_directly() {
        let program = load(
            "fn add(x, y) = x + y\n\
             fn pick(a, b) = if a > b then a - b else b * 2 + a\n\
             fn ratio(x, y) = x / y\n\
             fn down(n) = if n <= 0 then 0 else down(n - 1)\n\
             fn seven(a, b, c, d, e, f, g) = a + g",
        );
        let direct: Vec<(bool, bool)> = (0..5)
            .map(|index| {
                let func = program.module.func(index).unwrap();
                (func.direct, func.direct_trapping)
            })
            .collect();
        let plain = (true, false);
        let trapping = (false, true);
        let neither = (false, false);
        assert_eq!(direct, [plain, plain, trapping, neither, neither]);
        // A trap returns to the direct caller, and the next call works.
        let ratio = program.module.func(2).unwrap();
        assert!(matches!(ratio.call(&[1, 0], None).unwrap(), Exit::Trapped { .. }));
        assert_eq!(ratio.call(&[7, 2], None).unwrap(), Exit::Returned(3));
        assert_eq!(program.module.call(0, &[2, 3], None).unwrap(), Exit::Returned(5));
        assert_eq!(program.module.call(1, &[1, 3], None).unwrap(), Exit::Returned(7));
        let seven = program.module.call(4, &[1, 0, 0, 0, 0, 0, 6], None);
        assert_eq!(seven.unwrap(), Exit::Returned(7));
    }

    #[test]
    fn a_trap_leaves_the_context_idle() {
        // The loop keeps the call on the JIT stack (see above).
        let program = load("fn f(x) = if x > 1 then f(x - 1) else 1 / x");
        let module = &program.module;
        assert!(matches!(
            module.call(0, &[0], None).unwrap(),
            Exit::Trapped { .. }
        ));
        assert_eq!(module.call(0, &[1], None).unwrap(), Exit::Returned(1));
    }

    #[test]
    fn an_interrupt_after_the_function_returned_does_not_reach_the_next_call() {
        // A loop (a tail call) checks the stack, so the call runs on the
        // JIT stack.
        let program = load("fn f(x) = if x > 1 then f(x - 1) else 2 / x");
        let module = &program.module;
        let interrupt = LimitInterrupt::new();
        // The request lands after the function returned, before the call
        // let go of the interrupt: the limit is raised on an idle stack.
        let exit = with_thread_stack(|stack| {
            interrupt.begin(stack.context());
            interrupt.request();
            interrupt.end(stack.context());
            module.finish_call(stack, 42, 0)
        })
        .unwrap();
        assert_eq!(exit, Exit::Returned(42));
        assert_eq!(module.call(0, &[1], None).unwrap(), Exit::Returned(2));
    }

    #[test]
    fn mask_matches_size() {
        assert_eq!(STACK_BASE_MASK as i64 as u64, !(STACK_SIZE as u64 - 1));
    }
}
