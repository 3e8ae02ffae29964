//! A real debugger on JIT code: gdb, in batch mode, sets a breakpoint on a
//! JIT function by name before it exists (the GDB JIT interface tells gdb
//! when the code is loaded), stops in it at its source line and unwinds
//! through the JIT frames and the entry trampoline into exprjit's own Rust
//! frames. Skipped, with the reason printed, where gdb is not installed or
//! may not trace processes.

use std::path::Path;
use std::process::Command;

/// gdb's output for `exprjit -g FILE` with `commands`, or why there is
/// none.
fn gdb(file: &str, commands: &[&str]) -> Result<String, String> {
    let mut command = Command::new("gdb");
    command.args(["-batch", "-nx", "-ex", "set breakpoint pending on"]);
    command.args(["-ex", "set pagination off"]);
    for c in commands {
        command.args(["-ex", c]);
    }
    command
        .arg("--args")
        .arg(env!("CARGO_BIN_EXE_exprjit"))
        .arg("-g")
        .arg(file)
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    let output = command
        .output()
        .map_err(|error| format!("cannot run gdb: {error}"))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    for refusal in [
        "ptrace: Operation not permitted",
        "Could not trace the inferior",
        "not permitted",
    ] {
        if text.contains(refusal) {
            return Err(format!("gdb may not trace processes here ({refusal})"));
        }
    }
    Ok(text)
}

#[test]
fn gdb_breaks_in_a_jit_function_and_unwinds_into_rust() {
    let file = "examples/fib.ex";
    assert!(Path::new(env!("CARGO_MANIFEST_DIR")).join(file).exists());
    let text = match gdb(file, &["break fib", "run", "continue 3", "bt", "list 2,2"]) {
        Ok(text) => text,
        Err(reason) => {
            eprintln!("skipped: {reason}");
            return;
        }
    };
    let lines: Vec<&str> = text.lines().collect();
    let frames: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.starts_with('#'))
        .collect();
    assert!(
        text.contains("Breakpoint 1, fib () at examples/fib.ex:2"),
        "did not stop in fib at its line:\n{text}"
    );
    // Four nested calls of fib (the breakpoint hit four times), then the
    // trampoline, then Rust.
    let fibs = frames
        .iter()
        .take_while(|f| f.contains(" fib () at examples/fib.ex:2"))
        .count();
    assert_eq!(fibs, 4, "expected four fib frames on top:\n{text}");
    assert!(
        frames[fibs].contains("<entry trampoline>"),
        "the trampoline is not below the JIT frames:\n{text}"
    );
    assert!(
        frames[fibs + 1..]
            .iter()
            .any(|f| f.contains("exprjit::jit::")),
        "the backtrace does not reach exprjit's Rust frames:\n{text}"
    );
    assert!(
        frames.iter().any(|f| f.contains("exprjit::cli::run")),
        "the backtrace stops before the command's own frames:\n{text}"
    );
    assert!(
        text.contains("2\tfn fib(n) = if n < 2 then n else fib(n - 1) + fib(n - 2)"),
        "`list` shows no source:\n{text}"
    );
}

/// Single steps through JIT code (prologues, epilogues, calls with stack
/// arguments, returns into the trampoline): from every instruction, gdb's
/// backtrace reaches exprjit's Rust frames.
#[test]
fn gdb_unwinds_from_every_instruction_stepped_through() {
    let dir = std::env::temp_dir().join(format!("exprjit-gdb-step-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("steps.ex");
    std::fs::write(
        &file,
        "fn many(a, b, c, d, e, f, g, h) = if a > 0 then many(a - 1, b, c, d, e, f, g, h + a) else h / b\n\
         fn deep(n, a, b, c, d, e, f, g) = if n == 0 then many(3, 1, 2, 3, 4, 5, 6, 7) else 1 + deep(n - 1, a, b, c, d, e, f, g)\n\
         deep(3, 1, 2, 3, 4, 5, 6, 7)\n",
    )
    .unwrap();
    let step = "while $i < 300\nstepi\nbt 12\nset $i = $i + 1\nend";
    let script = dir.join("step.gdb");
    std::fs::write(&script, format!("set $i = 0\n{step}\n")).unwrap();
    let source = format!("source {}", script.display());
    let result = gdb(file.to_str().unwrap(), &["break deep", "run", &source]);
    std::fs::remove_dir_all(&dir).unwrap();
    let text = match result {
        Ok(text) => text,
        Err(reason) => {
            eprintln!("skipped: {reason}");
            return;
        }
    };
    let backtraces: Vec<&str> = text.split("\n#0 ").skip(1).collect();
    // Backtraces whose innermost frame is JIT code (Rust names have `::`).
    let from_jit: Vec<&str> = backtraces
        .iter()
        .copied()
        .filter(|bt| !bt.lines().next().unwrap_or_default().contains("::"))
        .collect();
    assert!(
        from_jit.len() > 100,
        "only {} steps in JIT code:\n{text}",
        from_jit.len()
    );
    for bt in from_jit {
        assert!(
            bt.contains("<entry trampoline>") && bt.contains("exprjit::jit::runtime"),
            "a backtrace from JIT code stops short:\n#0 {bt}"
        );
    }
}
