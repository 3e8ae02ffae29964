//! Drives the real REPL in a pseudo-terminal, as a user would: line
//! editing, multi-line entry with its continuation prompt, pasted blocks,
//! Tab completion, Ctrl-C during a computation and while editing, Ctrl-D to
//! leave, the history file, and colour (`TERM=dumb`, `--color`).

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

    // Bracketed paste stays off: a pasted block arrives as typed lines.
    let banner = repl.exp_string("exprjit> ")?;
    assert!(!banner.contains("\x1b[?2004h"), "{banner:?}");
    repl.send_line("fn sq(x) = x * x")?;
    repl.exp_string("defined sq(x)")?;
    repl.send_line("sq(12)")?;
    repl.exp_string("144")?;

    // An unfinished entry continues on the next line, after the
    // continuation prompt.
    repl.send_line("(100 +")?;
    repl.exp_string("   ...> ")?;
    repl.send_line("23)")?;
    repl.exp_string("123")?;

    // A line starting with `=` continues a definition whose parameters
    // took two lines.
    repl.exp_string("exprjit> ")?;
    repl.send_line("fn g(a,")?;
    repl.exp_string("   ...> ")?;
    repl.send_line("b)")?;
    repl.exp_string("   ...> ")?;
    repl.send_line("= a * 10 + b")?;
    repl.exp_string("defined g(a, b)")?;

    // A pasted block (one write, several lines) runs as the entries it
    // holds, at once, without an extra Enter; an unfinished one in it takes
    // its continuation lines.
    repl.exp_string("exprjit> ")?;
    repl.send("g(1, 2)\ng(3,\n4)\ng(5, 6)\n")?;
    repl.flush()?;
    repl.exp_string("12")?;
    repl.exp_string("34")?;
    repl.exp_string("56")?;
    // Tabs that indent pasted lines are kept, not taken for completion.
    repl.exp_string("exprjit> ")?;
    repl.send("\t(7 *\n\t6)\n")?;
    repl.flush()?;
    repl.exp_string("42")?;

    // Tab completes a command with its trailing space, and file names
    // after :load.
    repl.exp_string("exprjit> ")?;
    repl.send(":lo\t")?;
    repl.flush()?;
    repl.exp_string(":load ")?;
    repl.send(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/ad\t"))?;
    repl.flush()?;
    repl.exp_string("add.ex")?;
    repl.send_line("")?;
    repl.exp_string("defined add(x, y)")?;

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

    // A definition may call a function defined later; calling it before
    // then is an error at the call, and changes nothing.
    repl.exp_string("exprjit> ")?;
    repl.send_line("fn h(x) = later(x) + 1")?;
    repl.exp_string("defined h(x) (calls 'later', which is not defined yet")?;
    repl.send_line("h(1)")?;
    repl.exp_string("function 'later' is not defined yet")?;
    repl.exp_string("exprjit> ")?;
    repl.send_line("fn later(x) = x * 10")?;
    repl.exp_string("defined later(x)")?;
    repl.send_line("h(4)")?;
    repl.exp_string("41")?;
    // An earlier caller sees a redefinition.
    repl.send_line("fn later(x) = x * 100")?;
    repl.exp_string("redefined later(x)")?;
    repl.send_line("h(4)")?;
    repl.exp_string("401")?;

    // Ctrl-C during a long `:load` compile abandons it: none of its
    // definitions is kept.
    repl.exp_string("exprjit> ")?;
    let big = home.join("big.ex");
    std::fs::write(&big, big_program()).expect("a program file");
    repl.send_line(&format!(":load {}", big.display()))?;
    std::thread::sleep(Duration::from_millis(150));
    repl.send_control('c')?;
    repl.exp_string("interrupted")?;
    repl.exp_string("exprjit> ")?;
    repl.send_line("f7(1)")?;
    repl.exp_string("unknown function 'f7'")?;

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

/// A program that takes the compiler a second or more: 100,000 functions
/// of a few operations each (about 7 MB).
fn big_program() -> String {
    (0..100_000)
        .map(|i| {
            format!(
                "fn f{i}(x) = (x * {i} + {}) ^ (x - 3) / ((x % 7) | 1)\n",
                i + 1
            )
        })
        .collect()
}

/// Under `TERM=dumb` (and with `--color never`) nothing is coloured, even
/// with `NO_COLOR` unset; `--color always` colours.
#[test]
fn colour_follows_term_and_the_color_flag() -> Result<(), rexpect::error::Error> {
    let session = |term: &str, flags: &[&str]| -> Result<String, rexpect::error::Error> {
        let mut command = Command::new(env!("CARGO_BIN_EXE_exprjit"));
        command
            .args(flags)
            .env("HOME", std::env::temp_dir())
            .env_remove("XDG_STATE_HOME")
            .env_remove("NO_COLOR")
            .env("TERM", term);
        let mut repl = spawn_command(command, Some(20_000))?;
        repl.exp_string("exprjit> ")?;
        repl.send_line("1 / 0")?;
        let seen = repl.exp_string("division by zero")?;
        repl.exp_string("exprjit> ")?;
        repl.send_line(":quit")?;
        repl.exp_eof()?;
        Ok(seen)
    };
    assert!(!session("dumb", &[])?.contains('\x1b'));
    assert!(!session("xterm", &["--color", "never"])?.contains("\x1b[0m"));
    assert!(session("xterm", &["--color", "always"])?.contains("\x1b["));
    Ok(())
}
