//! Running JIT code: the dedicated stack, the context record at its base and
//! the safe entry point that calls generated functions through the entry
//! trampoline.
//!
//! # The contract between generated code and this module
//!
//! * JIT code runs on a [`JitStack`] of [`STACK_SIZE`] bytes aligned to its own
//!   size, so any code running on it finds the stack's [`StackContext`] with
//!   `rsp & STACK_BASE_MASK` — no register is reserved for it and the
//!   functions stay plain System V functions.
//! * Every function prologue compares `rsp` (minus its frame size when that is
//!   large) against [`StackContext::limit`] and traps instead of overflowing.
//! * A trap is a `call` to the shared trap exit. The exit records the return
//!   address (which identifies the trap site) in [`StackContext::trap_pc`],
//!   restores the stack pointer the trampoline saved in
//!   [`StackContext::saved_rsp`] and returns from the trampoline. No signal,
//!   no unwinding: Rust frames are never skipped, only JIT frames.

use std::cell::RefCell;
use std::io;
use std::mem::offset_of;
use std::ptr;
use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};

use super::mem::{ExecutableCode, PAGE_SIZE};

/// Size of the JIT stack: enough for well over a million frames of
/// recursion. The memory is reserved, not committed: only touched pages cost.
pub const STACK_SIZE: usize = 1 << 30;

/// `rsp & STACK_BASE_MASK` is the base of the stack `rsp` points into. It fits
/// a sign-extended imm32, so generated code can use `and reg, imm32`.
pub const STACK_BASE_MASK: i32 = -(STACK_SIZE as i64) as i32;

/// Bytes below the limit that a frame may use before the next check: a
/// function whose frame is smaller than this checks `rsp` alone.
pub const STACK_RESERVE: usize = 16 * 1024;

/// Frames at least this large compare `rsp - frame` against the limit.
pub const LARGE_FRAME: usize = STACK_RESERVE / 2;

/// The record at the base of every JIT stack.
#[repr(C)]
#[derive(Debug, Default)]
pub struct StackContext {
    /// The lowest `rsp` a function may start with. Atomic because an
    /// [`Interrupt`] raises it to `u64::MAX` from another thread or a signal
    /// handler, which makes the next function entry trap (the one compare
    /// serves both purposes, as in V8).
    pub limit: AtomicU64,
    /// `rsp` inside the entry trampoline, restored by the trap exit.
    pub saved_rsp: u64,
    /// 0 while running; the return address of the trap call after a trap.
    pub trap_pc: u64,
}

/// Field offsets of [`StackContext`], for generated code.
pub const CTX_LIMIT: i32 = offset_of!(StackContext, limit) as i32;
pub const CTX_SAVED_RSP: i32 = offset_of!(StackContext, saved_rsp) as i32;
pub const CTX_TRAP_PC: i32 = offset_of!(StackContext, trap_pc) as i32;

/// The entry trampoline emitted by codegen: switches to `sp` (on the stack
/// whose base holds `ctx`, with stack arguments already stored at `sp`), loads
/// six register arguments from `args`, calls `entry` and returns its result.
/// On a trap it returns garbage and sets `ctx.trap_pc`.
type EnterFn = unsafe extern "sysv64" fn(
    ctx: *mut StackContext,
    entry: *const u8,
    sp: *mut i64,
    args: *const i64,
) -> i64;

/// A stack of [`STACK_SIZE`] bytes aligned to its size. Layout from the base:
/// one page holding the [`StackContext`], one inaccessible guard page, then the
/// usable stack growing down from the top.
pub struct JitStack {
    base: *mut u8,
}

impl JitStack {
    pub fn new() -> io::Result<JitStack> {
        // Reserve twice the size so an aligned block of STACK_SIZE fits, then
        // give back the parts on either side of it.
        let reserve = 2 * STACK_SIZE;
        // SAFETY: a fresh anonymous PROT_NONE reservation aliases nothing.
        let raw = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                reserve,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if raw == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let raw = raw as usize;
        let base = raw.next_multiple_of(STACK_SIZE);
        let head = base - raw;
        let tail = reserve - head - STACK_SIZE;
        // SAFETY: both ranges lie inside the reservation made above and
        // outside the aligned block we keep.
        unsafe {
            if head > 0 {
                libc::munmap(raw as *mut libc::c_void, head);
            }
            if tail > 0 {
                libc::munmap((base + STACK_SIZE) as *mut libc::c_void, tail);
            }
        }
        let stack = JitStack {
            base: base as *mut u8,
        };
        let rw = libc::PROT_READ | libc::PROT_WRITE;
        stack.protect(0, PAGE_SIZE, rw)?;
        stack.protect(2 * PAGE_SIZE, STACK_SIZE - 2 * PAGE_SIZE, rw)?;
        Ok(stack)
    }

    fn protect(&self, offset: usize, len: usize, prot: libc::c_int) -> io::Result<()> {
        // SAFETY: the range lies inside the block this value owns; it holds
        // no Rust objects other than the context record, which stays mapped.
        let rc = unsafe { libc::mprotect(self.base.add(offset).cast(), len, prot) };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    fn context(&self) -> *mut StackContext {
        self.base.cast()
    }

    fn limit(&self) -> u64 {
        (self.base as usize + 2 * PAGE_SIZE + STACK_RESERVE) as u64
    }

    fn top(&self) -> *mut i64 {
        // SAFETY: one past the end of the block this value owns.
        unsafe { self.base.add(STACK_SIZE).cast() }
    }
}

impl Drop for JitStack {
    fn drop(&mut self) {
        // SAFETY: the block is owned by this value and no JIT code runs on it
        // (running borrows the stack mutably for the whole call).
        unsafe {
            libc::munmap(self.base.cast(), STACK_SIZE);
        }
    }
}

thread_local! {
    /// One JIT stack per thread, made on first use and kept for later calls.
    static THREAD_STACK: RefCell<Option<JitStack>> = const { RefCell::new(None) };
}

/// How a call into JIT code ended.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Exit {
    /// The function returned this value.
    Returned(i64),
    /// A trap fired; `offset` is the trap site's return address as an offset
    /// into the code, which the code generator's trap table maps to a cause.
    Trapped { offset: usize },
    /// An [`Interrupt`] stopped the call at a function entry.
    Interrupted,
}

/// Stops a running call from another thread or from a signal handler.
///
/// While a call made with this interrupt runs, `running` points at the
/// context of its stack. [`Interrupt::request`] raises that context's limit
/// so the next function entry traps. To keep the context from going away
/// while it is written, a requester swaps in the `BUSY` marker and puts the
/// pointer back afterwards, and the call waits for the pointer to come back
/// before it clears it. The requester never waits, so it is safe in a signal
/// handler interrupting the calling thread itself.
#[derive(Debug, Default)]
pub struct Interrupt {
    running: AtomicPtr<StackContext>,
}

/// Marks an [`Interrupt`] whose running context is being written.
const BUSY: *mut StackContext = ptr::dangling_mut();

impl Interrupt {
    pub const fn new() -> Interrupt {
        Interrupt {
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

/// The interrupt the SIGINT handler requests (see [`install_sigint_handler`]).
static SIGINT_TARGET: AtomicPtr<Interrupt> = AtomicPtr::new(ptr::null_mut());

extern "C" fn on_sigint(_signal: libc::c_int) {
    let target = SIGINT_TARGET.load(Ordering::SeqCst);
    if !target.is_null() {
        // SAFETY: only `install_sigint_handler` stores here, and it stores a
        // `&'static Interrupt`.
        unsafe { (*target).request() };
    }
}

/// Makes SIGINT (Ctrl-C) request `interrupt` instead of killing the
/// process.
pub fn install_sigint_handler(interrupt: &'static Interrupt) -> io::Result<()> {
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
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct FuncEntry {
    pub offset: usize,
    pub arity: usize,
}

/// Executable code produced by the code generator, with its entry trampoline
/// and the table of functions that may be called from Rust.
///
/// Soundness rests on the code generator: `enter` must be the trampoline
/// described at [`EnterFn`], and each function at `funcs[i].offset` must be a
/// System V function of `funcs[i].arity` integer arguments that follows the
/// stack-check and trap contract in the module docs. That is why only the
/// crate can build one.
pub struct Module {
    code: ExecutableCode,
    enter: usize,
    funcs: Vec<FuncEntry>,
}

impl Module {
    /// Loads `code` into executable memory. See the type's docs for what the
    /// code must guarantee.
    pub(crate) fn load(code: &[u8], enter: usize, funcs: Vec<FuncEntry>) -> io::Result<Module> {
        assert!(enter < code.len());
        assert!(funcs.iter().all(|f| f.offset < code.len()));
        Ok(Module {
            code: ExecutableCode::new(code)?,
            enter,
            funcs,
        })
    }

    pub fn code(&self) -> &ExecutableCode {
        &self.code
    }

    pub fn funcs(&self) -> &[FuncEntry] {
        &self.funcs
    }

    /// Calls function `index` with `args` on this thread's JIT stack.
    ///
    /// # Panics
    /// If `index` is out of range or `args.len()` is not the function's arity
    /// (both are bugs in the caller, which knows the signatures).
    pub fn call(
        &self,
        index: usize,
        args: &[i64],
        interrupt: Option<&Interrupt>,
    ) -> io::Result<Exit> {
        let func = self.funcs[index];
        assert_eq!(args.len(), func.arity, "wrong number of arguments");
        THREAD_STACK.with(|cell| match cell.try_borrow_mut() {
            Ok(mut slot) => {
                if slot.is_none() {
                    *slot = Some(JitStack::new()?);
                }
                let stack = slot.as_mut().expect("stack was just created");
                Ok(self.call_on(stack, func, args, interrupt))
            }
            // Re-entered (JIT code cannot do this today): use a fresh stack.
            Err(_) => Ok(self.call_on(&mut JitStack::new()?, func, args, interrupt)),
        })
    }

    fn call_on(
        &self,
        stack: &mut JitStack,
        func: FuncEntry,
        args: &[i64],
        interrupt: Option<&Interrupt>,
    ) -> Exit {
        const REGISTER_ARGS: usize = 6;
        let stack_args = args.len().saturating_sub(REGISTER_ARGS);
        let mut register_args = [0i64; REGISTER_ARGS];
        let in_registers = args.len().min(REGISTER_ARGS);
        register_args[..in_registers].copy_from_slice(&args[..in_registers]);

        // Stack arguments sit at the new stack pointer, which must be 16-byte
        // aligned at the call. A huge argument list would not leave room for
        // frames; the limit check in the callee then reports stack overflow.
        let usable = STACK_SIZE - 2 * PAGE_SIZE - STACK_RESERVE - PAGE_SIZE;
        assert!(
            stack_args * 8 < usable,
            "too many arguments for the JIT stack"
        );
        let sp = (stack.top() as usize - stack_args * 8) & !15;
        let sp = sp as *mut i64;
        // SAFETY: `sp..sp+stack_args` lies inside the read+write part of the
        // stack (checked above) and nothing else uses the stack right now.
        unsafe {
            std::ptr::copy_nonoverlapping(
                args[REGISTER_ARGS.min(args.len())..].as_ptr(),
                sp,
                stack_args,
            );
        }

        let ctx = stack.context();
        // SAFETY: the context page is mapped read+write and owned by `stack`.
        unsafe {
            ctx.write(StackContext {
                limit: AtomicU64::new(stack.limit()),
                saved_rsp: 0,
                trap_pc: 0,
            });
        }
        if let Some(interrupt) = interrupt {
            interrupt.begin(ctx);
        }
        let base = self.code.base();
        // SAFETY: `enter` is the entry trampoline and `func` a function of
        // `args.len()` arguments in this module's code (the contract of
        // `Module::load`); the stack, context and argument memory are valid
        // for the duration of the call; generated code only touches its own
        // stack and returns (normally or through the trap exit) to here.
        let (result, trap_pc) = unsafe {
            let enter: EnterFn = std::mem::transmute(base.add(self.enter));
            let result = enter(ctx, base.add(func.offset), sp, register_args.as_ptr());
            (result, (*ctx).trap_pc)
        };
        if let Some(interrupt) = interrupt {
            interrupt.end(ctx);
        }
        // SAFETY: as above; the call is over, so only this thread reads it.
        let interrupted = unsafe { (*ctx).limit.load(Ordering::SeqCst) } == u64::MAX;
        if trap_pc == 0 {
            Exit::Returned(result)
        } else if interrupted {
            Exit::Interrupted
        } else {
            Exit::Trapped {
                offset: trap_pc as usize - base as usize,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stack_is_aligned_to_its_size() {
        let stack = JitStack::new().unwrap();
        assert_eq!(stack.base as usize % STACK_SIZE, 0);
        assert_eq!(
            (stack.top() as usize - 8) as i64 & STACK_BASE_MASK as i64,
            stack.base as i64
        );
    }

    #[test]
    fn mask_matches_size() {
        assert_eq!(STACK_BASE_MASK as i64 as u64, !(STACK_SIZE as u64 - 1));
    }
}
