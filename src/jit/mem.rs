//! Executable memory with W^X enforced by the types.
//!
//! Machine code is copied (or moved, [`ExecutableCode::from_pieces`]) into a
//! [`WritableCode`] mapping (read+write), which
//! [`WritableCode::make_exec`] consumes and flips to read+exec, returning an
//! [`ExecutableCode`]. No value of either type ever refers to a page that is
//! writable and executable at the same time, and the mapping is unmapped when
//! the [`ExecutableCode`] is dropped.

use std::io;
use std::ptr::NonNull;

use crate::artifact::{CodePiece, PADDING};

/// The size of a page on x86-64 Linux.
pub const PAGE_SIZE: usize = 4096;

/// Rounds `len` up to a whole number of pages (at least one).
fn page_round(len: usize) -> usize {
    len.max(1).div_ceil(PAGE_SIZE) * PAGE_SIZE
}

/// Gives the pages of `start..start + len` back to the system
/// (`madvise(MADV_DONTNEED)`): they stay mapped with their protection, cost
/// no memory until touched again, and then read as zeros.
///
/// # Safety
/// The range must be whole pages of a private anonymous mapping that the
/// caller owns, holding no value that anything will read again (such as
/// the unused part of an idle stack).
pub unsafe fn discard_pages(start: *mut u8, len: usize) -> io::Result<()> {
    debug_assert!((start as usize).is_multiple_of(PAGE_SIZE) && len.is_multiple_of(PAGE_SIZE));
    // SAFETY: the caller guarantees the range is owned, anonymous and dead;
    // MADV_DONTNEED on such pages only drops their contents.
    let rc = unsafe { libc::madvise(start.cast(), len, libc::MADV_DONTNEED) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Reserves `size` bytes of address space aligned to `size` (a power of
/// two), inaccessible and with no memory committed (`PROT_NONE`,
/// `MAP_NORESERVE`): the JIT stack, whose base code finds with
/// `rsp & -size`. Parts are made usable with [`make_read_write`]; the whole
/// is given back with [`release`].
pub fn reserve_aligned(size: usize) -> io::Result<NonNull<u8>> {
    debug_assert!(size.is_power_of_two() && size >= PAGE_SIZE);
    // Reserve twice the size so an aligned block fits, then give back the
    // parts on either side of it.
    let reserve = 2 * size;
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
    let base = raw.next_multiple_of(size);
    let head = base - raw;
    let tail = reserve - head - size;
    // SAFETY: both ranges lie inside the reservation made above and outside
    // the aligned block kept; nothing refers to them.
    unsafe {
        if head > 0 {
            libc::munmap(raw as *mut libc::c_void, head);
        }
        if tail > 0 {
            libc::munmap((base + size) as *mut libc::c_void, tail);
        }
    }
    NonNull::new(base as *mut u8).ok_or_else(io::Error::last_os_error)
}

/// Makes `start..start + len` readable and writable (never executable).
///
/// # Safety
/// The range must be whole pages of a reservation made by
/// [`reserve_aligned`] that the caller owns, holding no Rust object whose
/// pages would change protection under it.
pub unsafe fn make_read_write(start: *mut u8, len: usize) -> io::Result<()> {
    // SAFETY: the caller owns the range (see above).
    let rc = unsafe { libc::mprotect(start.cast(), len, libc::PROT_READ | libc::PROT_WRITE) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Gives a reservation made by [`reserve_aligned`] back to the system.
///
/// # Safety
/// `start` and `size` must be those of a reservation the caller owns, which
/// nothing (no running code, no reference) uses any more.
pub unsafe fn release(start: *mut u8, size: usize) {
    // SAFETY: the caller owns the reservation and nothing uses it.
    unsafe {
        libc::munmap(start.cast(), size);
    }
}

/// Asks the C allocator to give large blocks back to the system when they
/// are freed, for a process (the command line) that compiles a large
/// program once. glibc otherwise raises its threshold for "large" each time
/// one is freed, and keeps the memory of the next ones in its heaps: on a
/// program of 100,000 functions, a fifth of the peak memory was blocks the
/// compiler had already freed (and their pages were faulted in again).
/// A library leaves the process's allocator alone; only the command line
/// calls this, first thing.
pub fn return_large_blocks() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        /// glibc's default threshold, fixed rather than raised as blocks
        /// are freed.
        const LARGE_BLOCK: libc::c_int = 128 << 10;
        // SAFETY: `mallopt` only changes the allocator's parameters; it has
        // no precondition (a value it refuses leaves them unchanged).
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, LARGE_BLOCK);
        }
    }
}

/// A private anonymous mapping, unmapped on drop.
struct Mapping {
    ptr: NonNull<u8>,
    len: usize,
}

impl Mapping {
    fn new(len: usize, prot: libc::c_int) -> io::Result<Mapping> {
        // Every page is written at once (the code is copied in): the kernel
        // maps them all in one call (`MAP_POPULATE`) rather than on a fault
        // each, which was most of the time of loading a large program.
        Self::map(len, prot, libc::MAP_POPULATE)
    }

    /// A mapping whose pages are given memory only as they are touched
    /// (or populated with [`Mapping::populate`]).
    fn lazy(len: usize, prot: libc::c_int) -> io::Result<Mapping> {
        Self::map(len, prot, 0)
    }

    fn map(len: usize, prot: libc::c_int, flags: libc::c_int) -> io::Result<Mapping> {
        let len = page_round(len);
        // SAFETY: a fresh anonymous mapping at an address of the kernel's
        // choosing cannot alias any existing Rust object.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                prot,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | flags,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let ptr = NonNull::new(ptr.cast::<u8>()).ok_or_else(io::Error::last_os_error)?;
        Ok(Mapping { ptr, len })
    }

    /// Copies `bytes` into the (writable) mapping at `at`.
    fn write(&self, at: usize, bytes: &[u8]) {
        assert!(at + bytes.len() <= self.len, "bytes outside the mapping");
        // SAFETY: the destination lies inside the mapping this value owns
        // (checked above), which its caller made read+write, and cannot
        // overlap `bytes`, which is Rust memory.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.ptr.as_ptr().add(at), bytes.len()) };
    }

    /// Sets bytes `start..end` of the (writable) mapping to `byte`.
    fn fill(&self, start: usize, end: usize, byte: u8) {
        if start >= end {
            return;
        }
        assert!(end <= self.len, "bytes outside the mapping");
        // SAFETY: `start..end` lies inside the mapping this value owns
        // (checked above), which its caller made read+write.
        unsafe { std::ptr::write_bytes(self.ptr.as_ptr().add(start), byte, end - start) };
    }

    /// Gives the whole pages that bytes `start..end` lie in their memory
    /// at once (`MADV_POPULATE_WRITE`), as `MAP_POPULATE` does for a whole
    /// mapping. Only a speed-up: a kernel without it (before 5.14) faults
    /// the pages in as they are written.
    fn populate(&self, start: usize, end: usize) {
        let first = start / PAGE_SIZE * PAGE_SIZE;
        let last = end.div_ceil(PAGE_SIZE) * PAGE_SIZE;
        assert!(first < last && last <= self.len, "pages outside the mapping");
        // SAFETY: `first..last` are whole pages of the mapping this value
        // owns (checked above); populating them changes no contents.
        unsafe {
            libc::madvise(self.ptr.as_ptr().add(first).cast(), last - first, libc::MADV_POPULATE_WRITE);
        }
    }

    fn protect(&self, prot: libc::c_int) -> io::Result<()> {
        self.protect_pages(0, self.len, prot)
    }

    /// Sets the protection of the whole pages that bytes `start..end` of
    /// the mapping lie in.
    fn protect_pages(&self, start: usize, end: usize, prot: libc::c_int) -> io::Result<()> {
        let first = start / PAGE_SIZE * PAGE_SIZE;
        let last = end.div_ceil(PAGE_SIZE) * PAGE_SIZE;
        assert!(first < last && last <= self.len, "pages outside the mapping");
        // SAFETY: `first..last` are whole pages of the mapping this value
        // owns (checked above).
        let rc = unsafe { libc::mprotect(self.ptr.as_ptr().add(first).cast(), last - first, prot) };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: the mapping is owned by this value and nothing borrows it
        // any more (borrows of the bytes are tied to the owner's lifetime).
        unsafe {
            libc::munmap(self.ptr.as_ptr().cast(), self.len);
        }
    }
}

/// Read+write pages that code is being copied into. Never executable.
pub struct WritableCode {
    map: Mapping,
    used: usize,
}

impl WritableCode {
    /// Maps enough read+write pages for `capacity` bytes of code.
    pub fn with_capacity(capacity: usize) -> io::Result<WritableCode> {
        Ok(WritableCode {
            map: Mapping::new(capacity, libc::PROT_READ | libc::PROT_WRITE)?,
            used: 0,
        })
    }

    /// Appends `bytes`; fails if they do not fit in the capacity.
    pub fn push(&mut self, bytes: &[u8]) -> io::Result<()> {
        if bytes.len() > self.map.len - self.used {
            return Err(io::Error::new(
                io::ErrorKind::OutOfMemory,
                "code does not fit in its buffer",
            ));
        }
        self.map.write(self.used, bytes);
        self.used += bytes.len();
        Ok(())
    }

    /// Switches the pages to read+exec. Consumes `self`, so nothing can write
    /// to the code afterwards.
    pub fn make_exec(self) -> io::Result<ExecutableCode> {
        self.map.protect(libc::PROT_READ | libc::PROT_EXEC)?;
        Ok(ExecutableCode {
            map: self.map,
            len: self.used,
        })
    }
}

/// Read+exec pages holding finished machine code. Never writable.
pub struct ExecutableCode {
    map: Mapping,
    len: usize,
}

// SAFETY: the pages change only through `patch`, which takes `&mut self`,
// so sharing or moving the owner between threads cannot cause a data race.
unsafe impl Send for ExecutableCode {}
// SAFETY: as above; `&ExecutableCode` only allows reading.
unsafe impl Sync for ExecutableCode {}

/// Code larger than this is moved into its pages a stretch of this size
/// at a time (see [`ExecutableCode::from_pieces`]).
const MOVE_PIECE: usize = 1 << 20;

/// Moves `code` into `map` at `at`, [`MOVE_PIECE`] bytes at a time,
/// populating each stretch's pages of the mapping before the copy and
/// giving the buffer's whole pages back once copied.
fn move_piece(map: &Mapping, at: usize, mut code: Vec<u8>) -> io::Result<()> {
    let source = code.as_mut_ptr();
    // The whole pages of the buffer, by address: the partial pages at
    // either end may hold the allocator's data and are left alone.
    let mut discarded = (source as usize).next_multiple_of(PAGE_SIZE);
    for start in (0..code.len()).step_by(MOVE_PIECE) {
        let end = (start + MOVE_PIECE).min(code.len());
        map.populate(at + start, at + end);
        map.write(at + start, &code[start..end]);
        let copied_pages_end = (source as usize + end) / PAGE_SIZE * PAGE_SIZE;
        if copied_pages_end > discarded {
            // SAFETY: whole pages inside the buffer (from a page boundary
            // at or after its start to one at or before the end of what
            // is copied), which `code` owns (a private anonymous mapping
            // or heap: what the allocator hands out), already copied:
            // nothing reads them again before the buffer is freed.
            unsafe {
                let first = source.add(discarded - source as usize);
                discard_pages(first, copied_pages_end - discarded)?;
            }
            discarded = copied_pages_end;
        }
    }
    Ok(())
}

/// Below this much code, moving it is left to one thread: starting a
/// second costs about what copying and populating a megabyte does.
const PARALLEL_MOVE: usize = 4 * MOVE_PIECE;

/// `map`, shared by the threads of [`move_pieces`].
struct MovingInto<'a>(&'a Mapping);

// SAFETY: each thread of `move_pieces` writes (and populates, and gives
// back the buffer pages of) only the bytes of its own pieces, which do
// not overlap (`from_pieces` checked they are in order); populating a
// page another thread also writes to changes no contents.
unsafe impl Sync for MovingInto<'_> {}

/// Moves each piece into `map` at its offset ([`move_piece`]): a large
/// program's pieces (one per part of the code generator) on two threads,
/// each about half of the bytes, since this is time the whole compile
/// waits for.
fn move_pieces(map: &Mapping, mut pieces: Vec<CodePiece>) -> io::Result<()> {
    let total: usize = pieces.iter().map(|piece| piece.bytes.len()).sum();
    let mut first_half = 0;
    let mut bytes = 0;
    while first_half < pieces.len() && bytes + pieces[first_half].bytes.len() / 2 <= total / 2 {
        bytes += pieces[first_half].bytes.len();
        first_half += 1;
    }
    let mut others = pieces.split_off(first_half.max(1).min(pieces.len()));
    let map = MovingInto(map);
    let move_all = |pieces: Vec<CodePiece>| {
        let map = &map;
        pieces
            .into_iter()
            .try_for_each(|piece| move_piece(map.0, piece.offset, piece.bytes))
    };
    if total < PARALLEL_MOVE || others.is_empty() {
        move_all(pieces)?;
        return move_all(others);
    }
    let (mine, theirs) = std::thread::scope(|scope| {
        let helper = std::thread::Builder::new()
            .name("exprjit-load".to_owned())
            .spawn_scoped(scope, || move_all(std::mem::take(&mut others)));
        let mine = move_all(pieces);
        let theirs = helper.ok().map(|helper| {
            helper
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        });
        (mine, theirs)
    });
    // No thread could be started: the others are still here, to move now.
    mine.and(theirs.unwrap_or_else(|| move_all(others)))
}

impl ExecutableCode {
    /// Copies `code` into fresh pages and makes them executable.
    pub fn new(code: &[u8]) -> io::Result<ExecutableCode> {
        let mut buffer = WritableCode::with_capacity(code.len())?;
        buffer.push(code)?;
        buffer.make_exec()
    }

    /// Moves `pieces` into fresh pages of `len` bytes, the bytes no piece
    /// covers `int3`, and makes them executable. A large piece is moved a
    /// stretch at a time, each stretch's pages of its buffer given back to
    /// the system as soon as they are copied, so that the code is in
    /// memory once, not twice (for a large program that was the peak of
    /// the whole compile), and the pieces of a large program are moved on
    /// two threads ([`move_pieces`]).
    pub fn from_pieces(pieces: Vec<CodePiece>, len: usize) -> io::Result<ExecutableCode> {
        // Small code (every REPL entry) is copied into pages mapped all at
        // once; a large program's pieces are moved a stretch at a time.
        let small = len <= MOVE_PIECE;
        let map = if small {
            Mapping::new(len, libc::PROT_READ | libc::PROT_WRITE)?
        } else {
            Mapping::lazy(len, libc::PROT_READ | libc::PROT_WRITE)?
        };
        let mut filled = 0;
        for piece in &pieces {
            let (offset, end) = (piece.offset, piece.offset + piece.bytes.len());
            assert!(filled <= offset && end <= len, "pieces out of order or past the end");
            map.fill(filled, offset, PADDING);
            filled = end;
        }
        map.fill(filled, len, PADDING);
        if small {
            for piece in &pieces {
                map.write(piece.offset, &piece.bytes);
            }
        } else {
            move_pieces(&map, pieces)?;
        }
        let buffer = WritableCode { used: len, map };
        buffer.make_exec()
    }

    /// The address of the first byte of code.
    pub fn base(&self) -> *const u8 {
        self.map.ptr.as_ptr()
    }

    /// Overwrites the code at `offset` with `bytes` (a REPL session
    /// redirecting a replaced function's entry). The pages turn read+write,
    /// not executable, for the write, then read+exec again: never both.
    /// `&mut self` means no call into the code runs meanwhile (running code
    /// borrows its module).
    ///
    /// # Panics
    /// If the bytes do not lie within the code.
    pub fn patch(&mut self, offset: usize, bytes: &[u8]) -> io::Result<()> {
        assert!(offset + bytes.len() <= self.len, "patch past the code's end");
        // Only the pages the bytes are on change protection, so patching
        // one function of a large module costs the same as of a small one.
        let (start, end) = (offset, offset + bytes.len());
        self.map.protect_pages(start, end, libc::PROT_READ | libc::PROT_WRITE)?;
        // SAFETY: the range lies inside the mapping (checked above), which
        // is now writable and not executable, and cannot overlap `bytes`
        // (Rust memory); nothing executes it while `self` is borrowed
        // mutably.
        unsafe {
            std::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                self.map.ptr.as_ptr().add(offset),
                bytes.len(),
            );
        }
        self.map.protect_pages(start, end, libc::PROT_READ | libc::PROT_EXEC)
    }

    /// The code bytes (readable: the pages are read+exec).
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: the first `len` bytes of the mapping were initialised by
        // `push`, the pages are readable, and they live as long as `self`.
        unsafe { std::slice::from_raw_parts(self.map.ptr.as_ptr(), self.len) }
    }
}

/// The first page of a jitdump file mapped executable, for as long as
/// this lives. `perf record` records the `mmap` of a file named
/// `jit-PID.dump`; `perf inject --jit` follows it to the dump.
pub struct JitdumpMarker {
    addr: *mut libc::c_void,
    len: usize,
}

// SAFETY: the mapping is never read or written through this value, which
// only unmaps it; that may happen on any thread.
unsafe impl Send for JitdumpMarker {}

impl JitdumpMarker {
    /// Maps the first page of `file` (opened for reading) read+exec.
    pub fn map(file: &std::fs::File) -> io::Result<JitdumpMarker> {
        let len = PAGE_SIZE;
        // SAFETY: a new private read+exec mapping of a file we opened;
        // nothing is ever read or run from it (it is the marker perf looks
        // for), and it is unmapped only in `drop`.
        let addr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_EXEC,
                libc::MAP_PRIVATE,
                std::os::fd::AsRawFd::as_raw_fd(file),
                0,
            )
        };
        if addr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(JitdumpMarker { addr, len })
    }
}

impl Drop for JitdumpMarker {
    fn drop(&mut self) {
        // SAFETY: `addr..addr + len` is the mapping `map` made, which
        // nothing else refers to.
        unsafe {
            libc::munmap(self.addr, self.len);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines of `/proc/self/maps` whose permissions include both w and x.
    fn writable_and_executable_mappings() -> Vec<String> {
        std::fs::read_to_string("/proc/self/maps")
            .expect("read /proc/self/maps")
            .lines()
            .filter(|line| {
                let perms = line.split_whitespace().nth(1).unwrap_or("");
                perms.contains('w') && perms.contains('x')
            })
            .map(str::to_owned)
            .collect()
    }

    fn mapping_perms(addr: usize) -> String {
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        for line in maps.lines() {
            let mut fields = line.split_whitespace();
            let range = fields.next().unwrap();
            let perms = fields.next().unwrap();
            let (lo, hi) = range.split_once('-').unwrap();
            let lo = usize::from_str_radix(lo, 16).unwrap();
            let hi = usize::from_str_radix(hi, 16).unwrap();
            if (lo..hi).contains(&addr) {
                return perms.to_owned();
            }
        }
        panic!("no mapping contains {addr:#x}");
    }

    #[test]
    fn never_writable_and_executable() {
        assert_eq!(writable_and_executable_mappings(), Vec::<String>::new());
        let mut buffer = WritableCode::with_capacity(100).unwrap();
        buffer.push(&[0xB8, 1, 0, 0, 0, 0xC3]).unwrap();
        let addr = buffer.map.ptr.as_ptr() as usize;
        assert!(mapping_perms(addr).starts_with("rw-"));
        assert_eq!(writable_and_executable_mappings(), Vec::<String>::new());
        let code = buffer.make_exec().unwrap();
        assert!(mapping_perms(addr).starts_with("r-x"));
        assert_eq!(writable_and_executable_mappings(), Vec::<String>::new());
        assert_eq!(code.bytes(), &[0xB8, 1, 0, 0, 0, 0xC3]);
        drop(code);
        assert_eq!(writable_and_executable_mappings(), Vec::<String>::new());
    }

    #[test]
    fn a_patch_writes_its_bytes_and_leaves_every_page_executable_only() {
        let mut code = ExecutableCode::new(&[0x90; 3 * PAGE_SIZE]).unwrap();
        let base = code.base() as usize;
        // Across the boundary of the second and third pages.
        let at = 2 * PAGE_SIZE - 2;
        code.patch(at, &[0xCC; 4]).unwrap();
        assert_eq!(&code.bytes()[at - 1..at + 5], &[0x90, 0xCC, 0xCC, 0xCC, 0xCC, 0x90]);
        for page in 0..3 {
            assert!(mapping_perms(base + page * PAGE_SIZE).starts_with("r-x"));
        }
        assert_eq!(writable_and_executable_mappings(), Vec::<String>::new());
    }

    #[test]
    fn large_code_is_moved_in_pieces_byte_for_byte() {
        // Not a multiple of the piece or of a page, from an unaligned
        // start: every partial page at the ends is copied, not discarded.
        for len in [MOVE_PIECE - 3, MOVE_PIECE + 1, 3 * MOVE_PIECE + PAGE_SIZE / 2 + 7] {
            let code: Vec<u8> = (0..len).map(|i| (i * 7 + i / 4099) as u8).collect();
            let expected = code.clone();
            let loaded = ExecutableCode::from_pieces(vec![CodePiece { offset: 0, bytes: code }], len).unwrap();
            assert!(loaded.bytes() == expected.as_slice(), "{len} bytes differ");
            let perms = mapping_perms(loaded.base() as usize);
            assert_eq!(&perms[..3], "r-x", "{len} bytes: {perms}");
        }
        assert_eq!(writable_and_executable_mappings(), Vec::<String>::new());
    }

    #[test]
    fn pieces_land_at_their_offsets_with_int3_between_and_after() {
        let piece = |offset: usize, len: usize, byte: u8| CodePiece {
            offset,
            bytes: vec![byte; len],
        };
        for (pieces, len) in [
            (vec![piece(0, 100, 0x90)], 112),
            (vec![piece(0, 100, 0x90), piece(112, 40, 0xC3), piece(160, 0, 0)], 176),
            (vec![piece(0, 3 * MOVE_PIECE / 2, 0x90), piece(2 * MOVE_PIECE, 10, 0xC3)], 2 * MOVE_PIECE + 16),
            // Large enough to be moved on two threads: three pieces (the
            // first alone, the other two together), sharing pages.
            (
                vec![
                    piece(0, PARALLEL_MOVE / 2 + 5, 0x90),
                    piece(PARALLEL_MOVE / 2 + 16, PARALLEL_MOVE / 4, 0xC3),
                    piece(3 * PARALLEL_MOVE / 4 + 32, PARALLEL_MOVE / 4 + 3, 0x55),
                ],
                PARALLEL_MOVE + 64,
            ),
        ] {
            let mut expected = vec![PADDING; len];
            for piece in &pieces {
                expected[piece.offset..piece.offset + piece.bytes.len()].copy_from_slice(&piece.bytes);
            }
            let loaded = ExecutableCode::from_pieces(pieces, len).unwrap();
            assert!(loaded.bytes() == expected.as_slice(), "{len} bytes differ");
        }
    }

    #[test]
    fn push_beyond_capacity_fails() {
        let mut buffer = WritableCode::with_capacity(PAGE_SIZE).unwrap();
        buffer.push(&[0x90; PAGE_SIZE]).unwrap();
        assert!(buffer.push(&[0x90]).is_err());
    }
}
