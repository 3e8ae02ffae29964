//! `--perf-map` and `EXPRJIT_PERF_MAP=1` write `/tmp/perf-PID.map` for the
//! process that ran the program.

use std::process::{Command, Stdio};

/// Runs the binary on `source` with `args`/`env`; returns the map's text.
fn run_and_read_map(args: &[&str], env: Option<(&str, &str)>) -> Option<String> {
    let mut command = Command::new(env!("CARGO_BIN_EXE_exprjit"));
    command
        .args(args)
        .args([
            "-e",
            "fn sq(x) = x * x\nfn twice(x) = sq(x) + sq(x)\ntwice(5)",
        ])
        .stdout(Stdio::piped())
        .env_remove("EXPRJIT_PERF_MAP");
    if let Some((key, value)) = env {
        command.env(key, value);
    }
    let child = command.spawn().expect("runs exprjit");
    let path = format!("/tmp/perf-{}.map", child.id());
    let output = child.wait_with_output().expect("exprjit finishes");
    assert!(output.status.success());
    assert_eq!(String::from_utf8_lossy(&output.stdout), "50\n");
    let map = std::fs::read_to_string(&path).ok();
    let _ = std::fs::remove_file(&path);
    map
}

fn check_map(map: &str) {
    let names: Vec<&str> = map
        .lines()
        .map(|line| {
            let mut parts = line.splitn(3, ' ');
            let start = parts.next().expect("start");
            let size = parts.next().expect("size");
            assert!(
                u64::from_str_radix(start, 16).is_ok_and(|a| a > 0),
                "{line}"
            );
            assert!(u64::from_str_radix(size, 16).is_ok_and(|s| s > 0), "{line}");
            parts.next().expect("name")
        })
        .collect();
    assert_eq!(
        names,
        [
            "<entry trampoline>",
            "<trap exit>",
            "sq",
            "twice",
            "<top-level expression 3>"
        ]
    );
}

#[test]
fn flag_writes_the_map() {
    check_map(&run_and_read_map(&["--perf-map"], None).expect("map written"));
}

#[test]
fn environment_writes_the_map() {
    check_map(&run_and_read_map(&[], Some(("EXPRJIT_PERF_MAP", "1"))).expect("map written"));
}

#[test]
fn no_map_unless_asked() {
    assert_eq!(run_and_read_map(&[], None), None);
    assert_eq!(run_and_read_map(&[], Some(("EXPRJIT_PERF_MAP", "0"))), None);
}
