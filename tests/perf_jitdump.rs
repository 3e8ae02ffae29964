//! The jitdump file of `--perf-jitdump`, parsed back: the header perf
//! checks, a code-load record per piece of code with its name, address and
//! exact bytes, and before each function's, its source lines, ending with
//! the sentinel perf wants at the function's end.

use exprjit::debuginfo::Sources;
use exprjit::perf_jitdump::{self, JitDump};
use exprjit::pipeline::{self, Timings};

const SOURCE: &str = "# fib\nfn fib(n) = if n < 2 then n else fib(n - 1) + fib(n - 2)\nfib(5)\n";

/// A debug-info record's entries: (address, line, file).
type Entries = Vec<(u64, i32, String)>;

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap())
}

fn c_str(bytes: &[u8], at: usize) -> (String, usize) {
    let end = at + bytes[at..].iter().position(|&b| b == 0).unwrap();
    (String::from_utf8(bytes[at..end].to_vec()).unwrap(), end + 1)
}

#[test]
fn the_dump_parses_back() {
    let mut timings = Timings::default();
    let program = pipeline::front_end(SOURCE, &mut timings).unwrap();
    let sources = Sources {
        files: vec![("fib.ex", SOURCE)],
        func_file: Vec::new(),
    };
    let loaded = pipeline::back_end_with(&program, false, Some(&sources), &mut timings).unwrap();
    let dir = std::env::temp_dir().join(format!("exprjit-jitdump-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut dump = JitDump::create_in(&dir).unwrap();
    dump.write_program(&loaded, &sources).unwrap();
    drop(dump);
    let path = dir.join(perf_jitdump::path());
    let bytes = std::fs::read(&path).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();

    assert_eq!(u32_at(&bytes, 0), 0x4A69_5444, "magic");
    assert_eq!(u32_at(&bytes, 4), 1, "version");
    let header = u32_at(&bytes, 8) as usize;
    assert_eq!(u32_at(&bytes, 12), 62, "EM_X86_64");
    assert_eq!(u32_at(&bytes, 20), std::process::id());

    let base = loaded.base_address();
    let mut at = header;
    let mut loads = Vec::new();
    let mut pending_lines: Option<(u64, Entries)> = None;
    let mut last_stamp = 0;
    while at < bytes.len() {
        let (id, size, stamp) = (
            u32_at(&bytes, at),
            u32_at(&bytes, at + 4) as usize,
            u64_at(&bytes, at + 8),
        );
        assert!(stamp >= last_stamp, "time stamps go back");
        last_stamp = stamp;
        let body = at + 16;
        match id {
            0 => {
                let address = u64_at(&bytes, body + 16);
                let size = u64_at(&bytes, body + 24) as usize;
                let index = u64_at(&bytes, body + 32);
                let (name, code) = c_str(&bytes, body + 40);
                let offset = (address - base) as usize;
                assert_eq!(
                    &bytes[code..code + size],
                    &loaded.code()[offset..offset + size],
                    "{name}"
                );
                if let Some((lines_address, entries)) = pending_lines.take() {
                    assert_eq!(
                        lines_address, address,
                        "lines of another function before {name}"
                    );
                    assert_eq!(
                        entries.last().unwrap().0,
                        address + size as u64,
                        "no sentinel at the end of {name}"
                    );
                    for (entry, line, file) in &entries {
                        assert!((address..=address + size as u64).contains(entry));
                        assert_eq!(file, "fib.ex");
                        if name == "fib" {
                            assert_eq!(*line, 2);
                        }
                    }
                }
                loads.push((name, index));
            }
            2 => {
                let address = u64_at(&bytes, body);
                let count = u64_at(&bytes, body + 8);
                let mut entry = body + 16;
                let mut entries = Vec::new();
                for _ in 0..count {
                    let addr = u64_at(&bytes, entry);
                    let line = u32_at(&bytes, entry + 8) as i32;
                    let (file, next) = c_str(&bytes, entry + 16);
                    entries.push((addr, line, file));
                    entry = next;
                }
                assert_eq!(entry, at + size, "debug record size");
                pending_lines = Some((address, entries));
            }
            other => panic!("unexpected record {other}"),
        }
        at += size;
    }
    assert_eq!(at, bytes.len());
    let names: Vec<&str> = loads.iter().map(|(n, _)| n.as_str()).collect();
    assert!(
        names.contains(&"fib") && names.contains(&"<entry trampoline>"),
        "{names:?}"
    );
    let indices: Vec<u64> = loads.iter().map(|&(_, i)| i).collect();
    assert_eq!(indices, (0..loads.len() as u64).collect::<Vec<_>>());
}
