//! Golden-file tests: every `tests/golden/**/*.ex` runs through the real
//! `exprjit` binary, and its stdout, stderr and exit status must match the
//! files beside it (`NAME.stdout`, `NAME.stderr`, `NAME.status`). Each file
//! runs twice, once per back end (`--backend=jit` and `--backend=interp`),
//! against the same expectations: the two must be indistinguishable.
//!
//! A first line of the form `# args: FLAG...` passes extra flags before the
//! file name. Files under `tests/golden/repl/` are REPL transcripts instead:
//! the file is piped into `exprjit -i` as typed input.
//!
//! To regenerate the expectations after an intended change, run
//! `SNAPSHOTS=overwrite cargo test --test golden` and review the diff.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use datatest_stable::Utf8Path;
use snapbox::{Assert, Data};

fn golden_jit(path: &Utf8Path, source: Vec<u8>) -> datatest_stable::Result<()> {
    golden(path, source, "--backend=jit")
}

fn golden_interp(path: &Utf8Path, source: Vec<u8>) -> datatest_stable::Result<()> {
    golden(path, source, "--backend=interp")
}

fn golden(path: &Utf8Path, source: Vec<u8>, backend: &str) -> datatest_stable::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let relative = path
        .as_std_path()
        .strip_prefix(root)
        .unwrap_or(path.as_std_path());
    let mut command = Command::new(env!("CARGO_BIN_EXE_exprjit"));
    command.current_dir(root).env("NO_COLOR", "1").arg(backend);
    let output = if relative.starts_with("tests/golden/repl") {
        // A REPL transcript: the file is what the user types.
        command
            .arg("-i")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn()?;
        child
            .stdin
            .take()
            .expect("piped stdin")
            .write_all(&source)?;
        child.wait_with_output()?
    } else {
        command.args(extra_args(&source)).arg(relative).output()?
    };
    let status = match output.status.code() {
        Some(code) => format!("{code}\n"),
        None => format!("killed: {}\n", output.status),
    };
    let assert = Assert::new().action_env("SNAPSHOTS");
    let expected =
        |ext: &str| Data::read_from(&path.with_extension(ext).into_std_path_buf(), None).raw();
    let mut failures = Vec::new();
    for (name, actual) in [
        ("stdout", output.stdout),
        ("stderr", output.stderr),
        ("status", status.into_bytes()),
    ] {
        let actual = Data::text(String::from_utf8_lossy(&actual).into_owned());
        if let Err(error) = assert.try_eq(Some(&name), actual, expected(name)) {
            failures.push(error.to_string());
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n").into())
    }
}

/// Flags from a leading `# args: ...` line.
fn extra_args(source: &[u8]) -> Vec<String> {
    let first_line = source.split(|&b| b == b'\n').next().unwrap_or_default();
    String::from_utf8_lossy(first_line)
        .strip_prefix("# args:")
        .map(|args| args.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default()
}

datatest_stable::harness! {
    { test = golden_jit, root = "tests/golden", pattern = r"\.ex$" },
    { test = golden_interp, root = "tests/golden", pattern = r"\.ex$" },
}
