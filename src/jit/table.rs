//! A REPL session's function table: one word per function of the session
//! (by `ir::GlobalId`), holding the address its callers in other entries
//! jump to. Code calls through it with `call [slot]`; redefining a
//! function writes its new address into its slot, so every earlier
//! caller reaches the new body without being compiled again.
//!
//! The table is data: its pages are read+write and never executable, so
//! W^X holds for it as for every code page. Its address never changes
//! (generated code has it as an immediate): the whole capacity is reserved
//! at once, and only the pages of slots in use cost memory.

use std::io;
use std::ptr::NonNull;

/// The slots of a [`FunctionTable`]: how many distinct functions a session
/// can have. Reserved address space only (64 MiB), committed per page of
/// slots used.
pub const CAPACITY: usize = 1 << 23;

/// The table (see the module documentation).
pub struct FunctionTable {
    slots: NonNull<u64>,
}

impl FunctionTable {
    /// Reserves a table of [`CAPACITY`] slots, all zero.
    pub fn new() -> io::Result<FunctionTable> {
        let bytes = CAPACITY * 8;
        // SAFETY: a fresh anonymous mapping at an address of the kernel's
        // choosing aliases no Rust object; read+write, never executable.
        let raw = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                bytes,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if raw == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let slots = NonNull::new(raw.cast::<u64>()).ok_or_else(io::Error::last_os_error)?;
        Ok(FunctionTable { slots })
    }

    /// The table's address, which generated code calls through.
    pub fn address(&self) -> u64 {
        self.slots.as_ptr() as u64
    }

    /// Makes slot `id` point at `entry`.
    ///
    /// # Panics
    /// If `id` is not below [`CAPACITY`] (the session refuses entries that
    /// would need more slots).
    pub fn set(&mut self, id: usize, entry: u64) {
        assert!(id < CAPACITY, "function table slot {id} out of range");
        // SAFETY: `id` is within the mapping, which this value owns; JIT
        // code only reads the table while a call runs, and calls do not
        // run while the session (which holds `&mut self`) changes it.
        unsafe { self.slots.as_ptr().add(id).write(entry) }
    }

    /// What slot `id` points at (zero if never set).
    pub fn get(&self, id: usize) -> u64 {
        assert!(id < CAPACITY, "function table slot {id} out of range");
        // SAFETY: `id` is within the mapping, which this value owns.
        unsafe { self.slots.as_ptr().add(id).read() }
    }
}

impl Drop for FunctionTable {
    fn drop(&mut self) {
        // SAFETY: the mapping is owned by this value; the session drops it
        // after every module whose code reads it.
        unsafe {
            libc::munmap(self.slots.as_ptr().cast(), CAPACITY * 8);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_keep_what_is_written_and_the_table_is_never_executable() {
        let mut table = FunctionTable::new().unwrap();
        assert_eq!(table.get(7), 0);
        table.set(7, 0x1234);
        table.set(CAPACITY - 1, 5);
        assert_eq!((table.get(7), table.get(CAPACITY - 1)), (0x1234, 5));
        let start = table.address();
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        let line = maps
            .lines()
            .find(|line| {
                let range = line.split_whitespace().next().unwrap();
                let (from, to) = range.split_once('-').unwrap();
                let (from, to) = (
                    u64::from_str_radix(from, 16).unwrap(),
                    u64::from_str_radix(to, 16).unwrap(),
                );
                (from..to).contains(&start)
            })
            .expect("the table is mapped");
        let perms = line.split_whitespace().nth(1).unwrap();
        assert!(perms.starts_with("rw-"), "{line}");
    }
}
