//! The GDB JIT interface: how a debugger learns about code that appears at
//! run time. The process keeps a linked list of in-memory object files
//! (from `debuginfo`) hanging off [`__jit_debug_descriptor`] and calls
//! [`__jit_debug_register_code`] after each change; gdb (and lldb) set a
//! breakpoint on that function and read the list when it is hit. See
//! "JIT Compilation Interface" in the gdb manual.
//!
//! One [`Registration`] per loaded program, dropped (unregistered) before
//! the program's code is unmapped, so a debugger never holds symbols for
//! memory that may be reused; a REPL module replaced by a redefinition is
//! unregistered when it is dropped.
//!
//! If another JIT in the process defines the same two symbols: linked
//! statically into one binary, the link fails with a duplicate symbol
//! (never two lists silently). From a shared library, each object keeps
//! its own descriptor (an executable does not export its symbols unless
//! linked with `-rdynamic`), and gdb reads a descriptor per object file,
//! so both JITs' code is seen. If the symbols were interposed so that both
//! shared one descriptor, the other JIT's list operations would not take
//! our lock: that setup is not supported.

use std::ptr;
use std::sync::Mutex;

const JIT_NOACTION: u32 = 0;
const JIT_REGISTER_FN: u32 = 1;
const JIT_UNREGISTER_FN: u32 = 2;

/// `struct jit_code_entry` of the interface.
#[repr(C)]
struct JitCodeEntry {
    next_entry: *mut JitCodeEntry,
    prev_entry: *mut JitCodeEntry,
    symfile_addr: *const u8,
    symfile_size: u64,
}

/// `struct jit_descriptor` of the interface.
#[repr(C)]
pub struct JitDescriptor {
    version: u32,
    action_flag: u32,
    relevant_entry: *mut JitCodeEntry,
    first_entry: *mut JitCodeEntry,
}

/// The list a debugger reads. Only touched under `LOCK`.
#[unsafe(no_mangle)]
#[used]
#[allow(non_upper_case_globals)]
pub static mut __jit_debug_descriptor: JitDescriptor = JitDescriptor {
    version: 1,
    action_flag: JIT_NOACTION,
    relevant_entry: ptr::null_mut(),
    first_entry: ptr::null_mut(),
};

/// The function a debugger sets its breakpoint on. Never inlined, and its
/// empty body is an `asm!` barrier, so that the call is not optimised away
/// and the function stays an address of its own.
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "C" fn __jit_debug_register_code() {
    // SAFETY: an empty assembly block does nothing; it only keeps the
    // compiler from treating the function as removable.
    unsafe { std::arch::asm!("", options(nostack, preserves_flags)) };
}

/// Serialises the changes to the list (programs load and drop on any
/// thread).
static LOCK: Mutex<()> = Mutex::new(());

/// An object file registered with debuggers; unregistered when dropped.
pub struct Registration {
    entry: *mut JitCodeEntry,
    /// The object file the entry points at; freed after unregistering.
    _image: Box<[u8]>,
}

// SAFETY: the entry is reached only through the registration (to
// unregister it, under `LOCK`) and through the descriptor's list, which is
// changed only under `LOCK`; nothing in it is tied to a thread.
unsafe impl Send for Registration {}
// SAFETY: a shared `Registration` gives no access to the entry at all.
unsafe impl Sync for Registration {}

/// Adds `image`, an in-memory object file, to the list debuggers read,
/// and tells any attached debugger.
pub fn register(image: Vec<u8>) -> Registration {
    let image = image.into_boxed_slice();
    let entry = Box::into_raw(Box::new(JitCodeEntry {
        next_entry: ptr::null_mut(),
        prev_entry: ptr::null_mut(),
        symfile_addr: image.as_ptr(),
        symfile_size: image.len() as u64,
    }));
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let descriptor = &raw mut __jit_debug_descriptor;
    // SAFETY: the descriptor and the entries in its list are only touched
    // under `LOCK`, which is held; `entry` is a fresh allocation that lives
    // until the registration unregisters it, and the first entry, if any,
    // is a live registration's.
    unsafe {
        let first = (*descriptor).first_entry;
        (*entry).next_entry = first;
        if !first.is_null() {
            (*first).prev_entry = entry;
        }
        (*descriptor).first_entry = entry;
        (*descriptor).relevant_entry = entry;
        (*descriptor).action_flag = JIT_REGISTER_FN;
    }
    __jit_debug_register_code();
    Registration {
        entry,
        _image: image,
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let descriptor = &raw mut __jit_debug_descriptor;
        let entry = self.entry;
        // SAFETY: under `LOCK`, as every change to the list; `entry` is in
        // the list (registered by `register`, removed only here) and so are
        // its neighbours.
        unsafe {
            let (prev, next) = ((*entry).prev_entry, (*entry).next_entry);
            if prev.is_null() {
                (*descriptor).first_entry = next;
            } else {
                (*prev).next_entry = next;
            }
            if !next.is_null() {
                (*next).prev_entry = prev;
            }
            (*descriptor).relevant_entry = entry;
            (*descriptor).action_flag = JIT_UNREGISTER_FN;
        }
        __jit_debug_register_code();
        // SAFETY: the entry is out of the list (the debugger has read it
        // while stopped in the call above) and was allocated by `Box` in
        // `register`; nothing else points at it.
        unsafe {
            (*descriptor).relevant_entry = ptr::null_mut();
            (*descriptor).action_flag = JIT_NOACTION;
            drop(Box::from_raw(entry));
        }
    }
}

/// How many object files are registered (for the tests).
pub fn registered_count() -> usize {
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let descriptor = &raw const __jit_debug_descriptor;
    let mut count = 0;
    // SAFETY: under `LOCK`, the list's entries are live registrations'.
    unsafe {
        let mut entry = (*descriptor).first_entry;
        while !entry.is_null() {
            count += 1;
            entry = (*entry).next_entry;
        }
    }
    count
}
