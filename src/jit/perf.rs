//! What `perf`'s jitdump needs from the system: the marker mapping of the
//! dump file, which tells `perf record` where the dump is, and the clock
//! `perf record -k 1` (`CLOCK_MONOTONIC`) stamps its samples with.

pub use super::mem::JitdumpMarker as Marker;

/// `CLOCK_MONOTONIC` in nanoseconds: the time base of `perf record -k 1`.
pub fn monotonic_ns() -> u64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `clock_gettime` only writes the `timespec` it is given.
    unsafe {
        libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now);
    }
    now.tv_sec as u64 * 1_000_000_000 + now.tv_nsec as u64
}
