//! `perf` jitdump files (`--perf-jitdump`): `jit-PID.dump` in the current
//! directory, with a `JIT_CODE_LOAD` record (name, address, the code
//! bytes) per piece of generated code and, before each function's, a
//! `JIT_CODE_DEBUG_INFO` record of its source lines. `perf record -k 1`
//! notes the file through its marker mapping; `perf inject --jit` then
//! turns each load into a small ELF file, so that `perf report` and
//! `perf annotate` show JIT functions with their instructions and source
//! lines. (The format is perf's `tools/perf/Documentation/jitdump-specification.txt`.)
//!
//! Two things perf 6.1 needs that the specification does not say: the
//! debug entries' addresses are the code's own (not offset by an ELF
//! header size, as V8 writes them), and the last entry is a sentinel at
//! the function's end.

use std::fs::File;
use std::io::{self, Write};
use std::path::PathBuf;

use crate::debuginfo::{Lines, Sources};
use crate::jit::{self, perf};

const MAGIC: u32 = 0x4A69_5444;
const VERSION: u32 = 1;
const HEADER_SIZE: u32 = 40;
const EM_X86_64: u32 = 62;
const JIT_CODE_LOAD: u32 = 0;
const JIT_CODE_DEBUG_INFO: u32 = 2;

/// An open jitdump file.
pub struct JitDump {
    file: File,
    /// Kept mapped while the process may load code.
    _marker: perf::Marker,
    /// The next `code_index`: unique per load in the process.
    next_index: u64,
}

/// Where this process's dump goes.
pub fn path() -> PathBuf {
    PathBuf::from(format!("jit-{}.dump", std::process::id()))
}

impl JitDump {
    /// Creates this process's dump file in the current directory, with
    /// its header and marker.
    pub fn create() -> io::Result<JitDump> {
        JitDump::create_in(std::path::Path::new("."))
    }

    /// Like [`JitDump::create`], in `dir`.
    pub fn create_in(dir: &std::path::Path) -> io::Result<JitDump> {
        let path = dir.join(path());
        let mut file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)?;
        let mut header = Vec::with_capacity(HEADER_SIZE as usize);
        for word in [MAGIC, VERSION, HEADER_SIZE, EM_X86_64, 0, std::process::id()] {
            header.extend_from_slice(&word.to_le_bytes());
        }
        header.extend_from_slice(&perf::monotonic_ns().to_le_bytes());
        header.extend_from_slice(&0u64.to_le_bytes());
        file.write_all(&header)?;
        let marker = perf::Marker::map(&file)?;
        Ok(JitDump {
            file,
            _marker: marker,
            next_index: 0,
        })
    }

    /// Appends the records of `program`'s code; `sources` names its
    /// functions' files (line records need the program compiled with debug
    /// info).
    pub fn write_program(
        &mut self,
        program: &jit::LoadedProgram,
        sources: &Sources,
    ) -> io::Result<()> {
        let records = records(program, sources, &mut self.next_index);
        self.file.write_all(&records)
    }
}

/// The records for `program`, numbered from `*next_index` on.
pub fn records(program: &jit::LoadedProgram, sources: &Sources, next_index: &mut u64) -> Vec<u8> {
    let map = program.map();
    let base = program.base_address();
    let lines = Lines::new(sources);
    let rows = map.debug.as_ref().map_or(&[][..], |t| &t.lines[..]);
    let pid = std::process::id();
    let tid = thread_id();
    let mut out = Vec::new();
    for symbol in map.symbols() {
        if symbol.size == 0 {
            continue;
        }
        let (start, end) = (symbol.offset, symbol.offset + symbol.size);
        let address = base + start as u64;
        let first = rows.partition_point(|row| row.offset < start);
        let last = rows.partition_point(|row| row.offset < end);
        if first < last {
            let mut entries = Vec::new();
            let mut count = 0u64;
            let mut entry = |out: &mut Vec<u8>, offset: usize, line: u64, name: &str| {
                out.extend_from_slice(&(base + offset as u64).to_le_bytes());
                out.extend_from_slice(&(line as i32).to_le_bytes());
                out.extend_from_slice(&0i32.to_le_bytes());
                out.extend_from_slice(name.as_bytes());
                out.push(0);
                count += 1;
            };
            let mut line = 0;
            let mut name = "";
            for row in &rows[first..last] {
                let file = sources.file_of(row.func);
                line = lines.line_col(file, row.span).0;
                name = sources.files.get(file).map_or("", |(path, _)| path);
                entry(&mut entries, row.offset, line, name);
            }
            // perf takes the last entry as where the function ends.
            entry(&mut entries, end, line, name);
            let mut body = Vec::new();
            body.extend_from_slice(&address.to_le_bytes());
            body.extend_from_slice(&count.to_le_bytes());
            body.extend_from_slice(&entries);
            record(&mut out, JIT_CODE_DEBUG_INFO, &body);
        }
        let mut body = Vec::new();
        body.extend_from_slice(&pid.to_le_bytes());
        body.extend_from_slice(&tid.to_le_bytes());
        body.extend_from_slice(&address.to_le_bytes()); // vma
        body.extend_from_slice(&address.to_le_bytes()); // code_addr
        body.extend_from_slice(&(symbol.size as u64).to_le_bytes());
        body.extend_from_slice(&next_index.to_le_bytes());
        *next_index += 1;
        body.extend_from_slice(symbol.name.as_bytes());
        body.push(0);
        body.extend_from_slice(&program.code()[start..end]);
        record(&mut out, JIT_CODE_LOAD, &body);
    }
    out
}

/// Appends a record: its id, total size and time stamp, then `body`.
fn record(out: &mut Vec<u8>, id: u32, body: &[u8]) {
    out.extend_from_slice(&id.to_le_bytes());
    out.extend_from_slice(&(16 + body.len() as u32).to_le_bytes());
    out.extend_from_slice(&perf::monotonic_ns().to_le_bytes());
    out.extend_from_slice(body);
}

/// The calling thread's id, as perf records it (the process id will do
/// where there is none).
fn thread_id() -> u32 {
    std::fs::read_link("/proc/thread-self")
        .ok()
        .and_then(|link| link.file_name()?.to_str()?.parse().ok())
        .unwrap_or_else(std::process::id)
}
