//! End-to-end tests of the `exprjit` command line that do not fit a golden
//! file: generated huge inputs, missing files, flags and standard input.

mod common;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn exprjit() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_exprjit"));
    command.env("NO_COLOR", "1");
    command
}

fn run_with_stdin(mut command: Command, stdin: &[u8]) -> Output {
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("start exprjit");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

/// Runs `exprjit FILE` on a generated program written to a temporary file.
fn run_source(name: &str, source: &str) -> Output {
    let path = temp_path(name);
    std::fs::write(&path, source).unwrap();
    let output = exprjit().arg(&path).output().unwrap();
    std::fs::remove_file(&path).ok();
    output
}

fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("exprjit-test-{}-{name}", std::process::id()))
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn million_term_sum_compiles_and_runs() {
    let mut source = String::with_capacity(2_000_001);
    source.push('1');
    for _ in 1..1_000_000 {
        source.push_str("+1");
    }
    source.push('\n');
    let output = run_source("million.ex", &source);
    assert_eq!(stderr(&output), "");
    assert_eq!(stdout(&output), "1000000\n");
    assert!(output.status.success());
}

#[test]
fn hundred_thousand_nested_parentheses() {
    let depth = 100_000;
    let source = format!("{}42{}\n", "(".repeat(depth), ")".repeat(depth));
    let output = run_source("parens.ex", &source);
    assert_eq!(stderr(&output), "");
    assert_eq!(stdout(&output), "42\n");

    // Nesting that really builds a deep tree: -(-(-(...))).
    let source = format!("{}7{}\n", "-(".repeat(depth), ")".repeat(depth));
    let output = run_source("negs.ex", &source);
    assert_eq!(stderr(&output), "");
    assert_eq!(stdout(&output), "7\n");
}

#[test]
fn unbalanced_deep_parentheses_is_an_error() {
    let source = format!("{}1\n", "(".repeat(100_000));
    let output = run_source("open.ex", &source);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("error"), "{}", stderr(&output));
}

#[test]
fn thousand_parameters() {
    let params: Vec<String> = (0..1000).map(|i| format!("p{i}")).collect();
    // Weighted sum so that every argument's position matters.
    let body: Vec<String> = (0..1000).map(|i| format!("p{i} * {}", i + 1)).collect();
    let args: Vec<String> = (0..1000).map(|i| (i + 1).to_string()).collect();
    let source = format!(
        "fn wide({}) = {}\nwide({})\n",
        params.join(", "),
        body.join(" + "),
        args.join(", ")
    );
    let expected: i64 = (1..=1000).map(|i: i64| i * i).sum();
    let output = run_source("wide.ex", &source);
    assert_eq!(stderr(&output), "");
    assert_eq!(stdout(&output), format!("{expected}\n"));
}

#[test]
fn missing_file_is_a_usage_error() {
    let output = exprjit().arg("no/such/file.ex").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        stderr(&output),
        "exprjit: cannot read 'no/such/file.ex': no such file\n"
    );
}

#[test]
fn directory_is_a_usage_error() {
    let output = exprjit().arg("tests").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("'tests' is a directory"));
}

#[test]
fn unknown_flag_is_a_usage_error() {
    let output = exprjit().arg("--frobnicate").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("--frobnicate"));
}

#[test]
fn expression_on_the_command_line() {
    let output = exprjit()
        .args(["-e", "fn sq(x) = x*x; sq(12)"])
        .output()
        .unwrap();
    assert_eq!(stdout(&output), "144\n");
    assert!(output.status.success());

    let output = exprjit().args(["-e", "1 / 0"]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("<expr>:1:3"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn program_from_stdin() {
    for args in [&["-"][..], &[][..]] {
        let mut command = exprjit();
        command.args(args);
        let output = run_with_stdin(command, b"fn sq(x) = x * x\nsq(12)\nsq(0) / 0\n");
        assert_eq!(stdout(&output), "144\n");
        assert_eq!(output.status.code(), Some(1));
        assert!(
            stderr(&output).contains("<stdin>:3:7"),
            "{}",
            stderr(&output)
        );
    }
}

#[test]
fn help_and_version() {
    let output = exprjit().arg("--help").output().unwrap();
    assert!(output.status.success());
    assert!(stdout(&output).contains("Usage: exprjit"));
    let output = exprjit().arg("-V").output().unwrap();
    assert!(output.status.success());
    assert!(stdout(&output).starts_with("exprjit "));
}

#[test]
fn time_reports_every_phase() {
    let output = exprjit().args(["--time", "-e", "1 + 1"]).output().unwrap();
    assert_eq!(stdout(&output), "2\n");
    let report = stderr(&output);
    for phase in ["parse", "resolve", "codegen", "load", "run"] {
        assert!(report.contains(phase), "no {phase} in {report}");
    }
}

#[test]
fn emit_asm_lists_every_function() {
    let output = exprjit()
        .args(["--emit", "asm", "-e", "fn add(x, y) = x + y\nadd(1, 2)"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let text = stdout(&output);
    assert!(text.contains("add ("), "{text}");
    assert!(text.contains("<top-level expression 2> ("), "{text}");
    // Every function ends its body with a `ret` somewhere.
    assert!(text.contains("c3"), "{text}");
}

/// A program printing `count` lines, to outlast a pipe closed early.
fn many_functions(count: usize) -> String {
    let mut source = String::new();
    for i in 0..count {
        source.push_str(&format!("fn f{i}(x) = x * {i} + 1\n"));
    }
    for i in 0..count {
        source.push_str(&format!("f{i}({i})\n"));
    }
    source
}

/// Runs `exprjit ARGS` with its stdout a pipe that is closed after the
/// first line is read, as `| head -1` does.
fn run_into_closed_pipe(args: &[&str]) -> Output {
    use std::io::BufRead;
    let mut child = exprjit()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first_line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first_line)
        .unwrap();
    assert!(!first_line.is_empty(), "{args:?} printed nothing");
    child.wait_with_output().unwrap()
}

#[test]
fn a_closed_pipe_ends_every_output_quietly() {
    let path = temp_path("many.ex");
    std::fs::write(&path, many_functions(3000)).unwrap();
    let file = path.to_str().unwrap();
    for args in [
        &[file][..],
        &["--emit", "asm", file],
        &["--emit", "tokens", file],
        &["--emit", "ast", file],
        &["-i"],
        &["--completions", "bash"],
        &["--man-page"],
    ] {
        let output = if args == ["-i"] {
            // The REPL, reading the program as typed input.
            let mut child = exprjit()
                .arg("-i")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let mut stdin = child.stdin.take().unwrap();
            let writer = std::thread::spawn(move || {
                // Fails once the REPL has gone: that is the point.
                let _ = stdin.write_all(many_functions(3000).as_bytes());
            });
            drop(child.stdout.take());
            let output = child.wait_with_output().unwrap();
            writer.join().unwrap();
            output
        } else {
            run_into_closed_pipe(args)
        };
        assert_eq!(stderr(&output), "", "{args:?}");
        assert_eq!(output.status.code(), Some(0), "{args:?}");
    }
    std::fs::remove_file(&path).ok();
}

#[test]
fn output_lost_to_a_full_disk_is_an_error() {
    let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
        println!("skipped: no /dev/full on this system");
        return;
    };
    for args in [
        &["-e", "1; 2"][..],
        &["--emit", "asm", "-e", "fn f(x) = x"],
        &["--emit", "tokens", "-e", "1 + 2"],
        &["--emit", "ast", "-e", "1 + 2"],
        &["--completions", "zsh"],
        &["--man-page"],
        &["-i"],
    ] {
        let output = exprjit()
            .args(args)
            .stdin(Stdio::null())
            .stdout(full.try_clone().unwrap())
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        let message = stderr(&output);
        assert!(
            message.starts_with("exprjit: ") && message.contains("No space left on device"),
            "{args:?}: {message}"
        );
        assert_eq!(message.lines().count(), 1, "{args:?}: {message}");
        assert!(!message.contains("panicked"), "{args:?}: {message}");
    }
}

#[test]
fn source_on_the_command_line_may_start_with_a_minus() {
    for args in [&["-e", "-1 + 3"][..], &["--expr", "-1 + 3"], &["-e", "--1"]] {
        let output = exprjit().args(args).output().unwrap();
        assert_eq!(stderr(&output), "", "{args:?}");
        assert_eq!(
            stdout(&output),
            if args[1] == "--1" { "1\n" } else { "2\n" }
        );
    }
}

#[test]
fn colour_follows_the_color_flag() {
    let run = |args: &[&str], term: &str| {
        let mut command = exprjit();
        command.env_remove("NO_COLOR").env("TERM", term).args(args);
        stderr(&command.output().unwrap())
    };
    // Into a pipe, `auto` never colours; `always` does, even with TERM=dumb.
    assert!(!run(&["-e", "1 / 0"], "xterm").contains('\x1b'));
    assert!(run(&["--color", "always", "-e", "1 / 0"], "dumb").contains("\x1b["));
    assert!(!run(&["--color", "never", "-e", "1 / 0"], "xterm").contains('\x1b'));
    let output = exprjit().args(["--color", "sometimes"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn help_tells_exit_statuses_and_colour_settings() {
    let help = stdout(&exprjit().arg("--help").output().unwrap());
    for needle in [
        "Exit status:",
        "NO_COLOR",
        "--color",
        "TERM=dumb",
        "--completions",
    ] {
        assert!(help.contains(needle), "no {needle} in --help:\n{help}");
    }
}

#[test]
fn completions_and_man_page_come_from_the_flags() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let output = exprjit().args(["--completions", shell]).output().unwrap();
        assert!(output.status.success(), "{shell}");
        assert!(stdout(&output).contains("backend"), "{shell}");
    }
    let output = exprjit().arg("--man-page").output().unwrap();
    assert!(output.status.success());
    let page = stdout(&output);
    assert!(page.contains(".TH exprjit 1"), "{page}");
    assert!(page.contains("color"), "{page}");
    // Exclusive: not to be mixed with running a program.
    let output = exprjit().args(["--man-page", "-e", "1"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
}

/// Runs `source` in `exprjit -i BACKEND` and returns the first line of its
/// error and its peak memory in MiB, read while the REPL waits for more
/// input after the error (so the peak is the whole run's).
fn repl_error_and_peak(backend: &str, source: &str) -> (String, f64) {
    use std::io::{BufRead, BufReader};
    let mut repl = exprjit()
        .args(["-i", backend])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = repl.stdin.take().unwrap();
    writeln!(stdin, "{source}").unwrap();
    let mut error = String::new();
    BufReader::new(repl.stderr.take().unwrap())
        .read_line(&mut error)
        .unwrap();
    let peak = common::proc_status_mib(&repl.id().to_string(), "VmHWM");
    drop(stdin);
    assert!(repl.wait().unwrap().success());
    (error, peak)
}

#[test]
fn the_interpreter_bounds_recursion_by_bytes_like_the_jit() {
    // 200 locals a frame: the frame count alone used to allow 6 GiB.
    let lets: String = (0..200)
        .map(|i| format!("let a{i} = n + {i} in "))
        .collect();
    let source =
        format!("fn f(n) = if n == 0 then 0 else {lets}1 + f(n - 1) + a0 - a199\nf(100000000)");
    for backend in ["--backend=interp", "--backend=jit"] {
        let (error, peak) = repl_error_and_peak(backend, &source);
        println!("{backend}: peak {peak:.0} MiB");
        assert!(
            error.contains("stack overflow in function 'f'"),
            "{backend}: {error}"
        );
        // The 1 GiB stack budget, plus the program and the allocator's slack.
        assert!(peak < 1300.0, "{backend}: peak {peak:.0} MiB");
    }

    // A plain recursion five million deep fits both.
    for backend in ["--backend=interp", "--backend=jit"] {
        let output = exprjit()
            .args([backend, "-e"])
            .arg("fn d(n) = if n == 0 then 0 else 1 + d(n - 1)\nd(5000000)")
            .output()
            .unwrap();
        assert_eq!(
            stdout(&output),
            "5000000\n",
            "{backend}: {}",
            stderr(&output)
        );
    }
}

#[test]
fn a_long_unfinished_entry_is_read_in_linear_time() {
    // 20,000 continuation lines took 87 s when every line re-parsed the
    // entry; now about 0.05 s. The bound leaves room for a busy machine.
    let mut input = String::from("(1 +\n");
    for _ in 0..20_000 {
        input.push_str("1 +\n");
    }
    input.push_str("1)\n");
    let mut command = exprjit();
    command.arg("-i");
    let start = std::time::Instant::now();
    let output = run_with_stdin(command, input.as_bytes());
    let elapsed = start.elapsed();
    assert!(stdout(&output).contains("\n20002\n"), "{}", stderr(&output));
    assert!(
        elapsed < std::time::Duration::from_secs(10),
        "took {elapsed:?}"
    );
}

#[test]
fn load_and_the_command_line_word_file_errors_alike() {
    for (path, message) in [
        ("/", "'/' is a directory, not a program file"),
        (
            "no/such/file.ex",
            "cannot read 'no/such/file.ex': no such file",
        ),
    ] {
        let cli = exprjit().arg(path).output().unwrap();
        assert_eq!(stderr(&cli), format!("exprjit: {message}\n"));
        let mut command = exprjit();
        command.arg("-i");
        let repl = run_with_stdin(command, format!(":load {path}\n").as_bytes());
        assert_eq!(stderr(&repl), format!("error: {message}\n"));
    }
}
