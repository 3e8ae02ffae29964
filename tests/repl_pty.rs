//! Drives the real REPL in a pseudo-terminal, as a user would: line
//! editing, multi-line entry, Ctrl-C during a computation and while
//! editing, Ctrl-D to leave, and the history file.

use std::process::Command;
use std::time::Duration;

use rexpect::session::spawn_command;

#[test]
fn a_session_in_a_terminal() -> Result<(), rexpect::error::Error> {
    let home = std::env::temp_dir().join(format!("exprjit-pty-home-{}", std::process::id()));
    std::fs::create_dir_all(&home).expect("temporary home");
    let mut command = Command::new(env!("CARGO_BIN_EXE_exprjit"));
    command
        .env("HOME", &home)
        .env_remove("XDG_STATE_HOME")
        .env("NO_COLOR", "1")
        .env("TERM", "xterm");
    let mut repl = spawn_command(command, Some(20_000))?;

    repl.exp_string("exprjit> ")?;
    repl.send_line("fn sq(x) = x * x")?;
    repl.exp_string("defined sq(x)")?;
    repl.send_line("sq(12)")?;
    repl.exp_string("144")?;

    // An unfinished entry continues on the next line (in the same edit
    // buffer, so no new prompt appears).
    repl.send_line("(100 +")?;
    std::thread::sleep(Duration::from_millis(200));
    repl.send_line("23)")?;
    repl.exp_string("123")?;

    // Ctrl-C stops a long computation and keeps the definitions.
    repl.send_line("fn fib(n) = if n < 2 then n else fib(n - 1) + fib(n - 2)")?;
    repl.exp_string("defined fib(n)")?;
    repl.send_line("fib(60)")?;
    std::thread::sleep(Duration::from_millis(500));
    repl.send_control('c')?;
    repl.exp_string("interrupted")?;
    repl.exp_string("exprjit> ")?;
    repl.send_line("sq(21)")?;
    repl.exp_string("441")?;

    // Ctrl-C while editing abandons the line.
    repl.exp_string("exprjit> ")?;
    repl.send("12345")?;
    repl.flush()?;
    repl.exp_string("12345")?;
    repl.send_control('c')?;
    // Typing ahead of the prompt is discarded when the editor starts.
    repl.exp_string("exprjit> ")?;
    std::thread::sleep(Duration::from_millis(200));
    repl.send_line("sq(30)")?;
    repl.exp_string("900")?;

    // Ctrl-D on an empty line leaves.
    repl.send_control('d')?;
    repl.exp_eof()?;

    let history = std::fs::read_to_string(home.join(".local/state/exprjit/history"))
        .expect("the history file is written");
    assert!(history.contains("sq(21)"), "{history}");
    let _ = std::fs::remove_dir_all(&home);
    Ok(())
}
