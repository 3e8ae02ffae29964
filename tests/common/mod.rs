//! Helpers shared by the integration tests (each test file that needs them
//! declares `mod common;`, so not every file uses every helper).
#![allow(dead_code)]

/// The number in environment variable `name` (how many cases a long run
/// asks for), or `default` when it is unset or not a number.
pub fn env_count<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// A memory field of `/proc/PID/status` (`pid` may be `self`), such as
/// `VmRSS` or `VmHWM`, in KiB.
pub fn proc_status_kib(pid: &str, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("procfs");
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("a {field} line"))
}

/// [`proc_status_kib`] in MiB.
pub fn proc_status_mib(pid: &str, field: &str) -> f64 {
    proc_status_kib(pid, field) as f64 / 1024.0
}
