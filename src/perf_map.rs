//! `perf` map files: `/tmp/perf-PID.map`, one `START SIZE NAME` line (hex
//! address and size) per piece of generated code, so that `perf record` /
//! `perf report` name JIT functions instead of showing bare addresses.
//!
//! Written when the CLI gets `--perf-map` or the environment has
//! `EXPRJIT_PERF_MAP=1`. Lines are appended, so a process that loads code
//! more than once (the REPL) keeps the names of every load.

use std::fmt::Write as _;
use std::io::{self, Write as _};
use std::path::PathBuf;

use crate::jit;

/// The environment variable that turns the map on without the flag.
pub const ENV_VAR: &str = "EXPRJIT_PERF_MAP";

/// True if [`ENV_VAR`] asks for a map (`1`, or anything but `0` and empty).
pub fn requested_by_env() -> bool {
    std::env::var_os(ENV_VAR).is_some_and(|v| !v.is_empty() && v != "0")
}

/// Where `perf` looks for this process's map.
pub fn path() -> PathBuf {
    PathBuf::from(format!("/tmp/perf-{}.map", std::process::id()))
}

/// The map lines for `program`: the trampoline, the trap exit and every
/// function, at the addresses they are mapped at.
pub fn lines(program: &jit::LoadedProgram) -> String {
    let base = program.base_address();
    let mut out = String::new();
    for symbol in program.symbols() {
        if symbol.size == 0 {
            continue;
        }
        // perf splits on whitespace before the name but keeps the rest of
        // the line, so names with spaces (`<top-level expression 1>`) work.
        let _ = writeln!(
            out,
            "{:x} {:x} {}",
            base + symbol.offset as u64,
            symbol.size,
            symbol.name
        );
    }
    out
}

/// Appends the lines for `program` to this process's map file.
pub fn write(program: &jit::LoadedProgram) -> io::Result<PathBuf> {
    let path = path();
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)?;
    file.write_all(lines(program).as_bytes())?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{self, Timings};

    #[test]
    fn every_function_is_named_at_its_address() {
        let source = "fn sq(x) = x * x\nfn f(a, b) = sq(a) + b\nf(3, 4)\n";
        let mut timings = Timings::default();
        let program = pipeline::front_end(source, &mut timings).unwrap();
        let loaded = pipeline::back_end(&program, &mut timings).unwrap();
        let text = lines(&loaded);
        let base = loaded.base_address();
        let code = loaded.code();
        let symbols = loaded.symbols();
        let mut names = Vec::new();
        for line in text.lines() {
            let mut parts = line.splitn(3, ' ');
            let start = u64::from_str_radix(parts.next().unwrap(), 16).unwrap();
            let size = usize::from_str_radix(parts.next().unwrap(), 16).unwrap();
            let name = parts.next().unwrap().to_owned();
            // Every range lies inside the mapped code and matches the
            // symbol table the disassembler uses.
            let offset = (start - base) as usize;
            assert!(offset + size <= code.len(), "{line}");
            let symbol = symbols
                .iter()
                .find(|s| s.name == name)
                .expect("named symbol");
            assert_eq!((symbol.offset, symbol.size), (offset, size), "{line}");
            names.push(name);
        }
        assert_eq!(
            names,
            [
                "<entry trampoline>",
                "<trap exit>",
                "sq",
                "f",
                "<top-level expression 3>"
            ]
        );
        // Ranges do not overlap and follow the code order.
        let ranges: Vec<(usize, usize)> = loaded
            .symbols()
            .iter()
            .map(|s| (s.offset, s.offset + s.size))
            .collect();
        assert!(ranges.windows(2).all(|w| w[0].1 <= w[1].0));
    }
}
