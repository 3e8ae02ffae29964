//! End-to-end tests of the `exprjit` command line that do not fit a golden
//! file: generated huge inputs, missing files, flags and standard input.

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
    for phase in ["lex", "parse", "check", "codegen", "run"] {
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

#[test]
fn broken_pipe_is_not_a_crash() {
    let mut child = exprjit()
        .args(["-e", "fn f(n) = n; f(1); f(2); f(3)"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    assert!(!stderr(&output).contains("panicked"), "{}", stderr(&output));
}
