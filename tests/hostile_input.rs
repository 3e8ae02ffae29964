//! Hostile input: huge files, huge function bodies, many functions, deep
//! nesting of every construct, floods of errors, megabyte-long lines. Each
//! program goes through the real binary (`--check`, a run on each back end,
//! `--emit tokens|ast|asm`) and must either work or fail with a clear
//! diagnostic, quickly, without a crash.
//!
//! The programs are generated here, not stored. `cargo test` runs them at a
//! size that keeps the (debug) suite fast; `EXPRJIT_HOSTILE_FULL=1` runs the
//! sizes of issues 4 and 12 (the floods of errors, unclosed parentheses and
//! megabyte lines fill the source size limit, `MAX_SOURCE_LEN`; a file just
//! over it; a 1,000,000-node body, 100,000 functions, nesting 100,000
//! deep), prints a table of wall time and peak RSS (from `/usr/bin/time`,
//! when installed) and checks that every run stays under
//! [`RSS_LIMIT_KIB`]. Use a release build for those:
//!
//! ```sh
//! EXPRJIT_HOSTILE_FULL=1 cargo test --release --test hostile_input -- --nocapture --test-threads=1
//! ```

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use exprjit::diag::MAX_SHOWN_DIAGNOSTICS;
use exprjit::pipeline::{MAX_ITEMS, MAX_NESTING, MAX_SOURCE_LEN};

fn full_size() -> bool {
    std::env::var_os("EXPRJIT_HOSTILE_FULL").is_some_and(|v| !v.is_empty() && v != "0")
}

/// `full` under `EXPRJIT_HOSTILE_FULL`, else `quick`.
fn size(full: usize, quick: usize) -> usize {
    if full_size() { full } else { quick }
}

/// Longest any one invocation may take. Generous: the quick sizes take well
/// under a second even in a debug build, the full ones (a 96 MiB file of
/// 3 million functions through `--emit asm`) some tens of seconds on a
/// loaded machine; this catches hangs and quadratic blow-ups, which take
/// minutes (`--emit asm` of 100,000 functions once took 15).
fn time_limit() -> Duration {
    Duration::from_secs(if full_size() { 240 } else { 30 })
}

/// Largest peak RSS accepted, in KiB, when it can be measured (the full
/// run): 4 GiB, with the sources at the size limit.
const RSS_LIMIT_KIB: u64 = 4 << 20;

/// What a program must do.
enum Expect {
    /// Compile, and print exactly these lines when run.
    Prints(String),
    /// Fail to compile with this message (exit status 1).
    CompileError(&'static str),
}

/// Writes `source` to a file named after the case, runs it through every
/// mode, and checks the outcome.
fn run_case(name: &str, source: &str, expect: &Expect) {
    let path = write_source(name, source);
    let modes: [&[&str]; 7] = [
        &["--check"],
        &[],
        &["--backend=interp"],
        &["--emit", "tokens"],
        &["--emit", "ast"],
        &["--emit", "asm"],
        &["-i"],
    ];
    for args in modes {
        let run = if args == ["-i"] {
            // The REPL's `:load` takes the same path through a session.
            run_exprjit(&["-i"], &path, Some(format!(":load {}\n", path.display())))
        } else {
            run_exprjit(args, &path, None)
        };
        let label = if args.is_empty() {
            "run"
        } else {
            &args.join(" ")
        };
        run.report(name, source.len(), label);
        let stderr = String::from_utf8_lossy(&run.output.stderr);
        let stdout = String::from_utf8_lossy(&run.output.stdout);
        let status = run.output.status.code();
        assert!(
            status.is_some(),
            "{name} {label}: killed by a signal\n{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{name} {label}: {stderr}");
        assert!(
            run.wall < time_limit(),
            "{name} {label}: took {:?}",
            run.wall
        );
        if let Some(rss) = run.peak_rss_kib {
            assert!(rss < RSS_LIMIT_KIB, "{name} {label}: peak RSS {rss} KiB");
        }
        match (expect, label) {
            (Expect::Prints(expected), "run" | "--backend=interp") => {
                assert_eq!(status, Some(0), "{name} {label}: {stderr}");
                assert_eq!(stdout, *expected, "{name} {label}");
            }
            (Expect::Prints(expected), "-i") => {
                assert!(stdout.contains(expected.as_str()), "{name} {label}");
                assert!(stderr.is_empty(), "{name} {label}: {stderr}");
            }
            (Expect::Prints(_), _) => assert_eq!(status, Some(0), "{name} {label}: {stderr}"),
            (Expect::CompileError(message), "-i") => {
                assert!(stderr.contains(message), "{name} {label}: {stderr}")
            }
            // Tokens and trees print whatever lexes or parses; a compile
            // error may come later.
            (Expect::CompileError(_), "--emit tokens" | "--emit ast") => {}
            (Expect::CompileError(message), _) => {
                assert_eq!(status, Some(1), "{name} {label}");
                assert!(stderr.contains(message), "{name} {label}: {stderr}");
                assert!(stdout.is_empty(), "{name} {label}");
            }
        }
    }
    let _ = std::fs::remove_file(path);
}

fn write_source(name: &str, source: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("hostile_{name}.ex"));
    std::fs::write(&path, source).expect("write the generated program");
    path
}

struct Run {
    output: Output,
    wall: Duration,
    peak_rss_kib: Option<u64>,
}

impl Run {
    /// One row of the table printed by the full-size run.
    fn report(&self, name: &str, bytes: usize, mode: &str) {
        if !full_size() {
            return;
        }
        let stderr = String::from_utf8_lossy(&self.output.stderr);
        let result = match self.output.status.code() {
            Some(0) => "ok".to_owned(),
            Some(code) => {
                let first = stderr
                    .lines()
                    .next()
                    .unwrap_or("")
                    .trim_start_matches("error: ");
                format!(
                    "exit {code}: {}",
                    first.chars().take(60).collect::<String>()
                )
            }
            None => "killed by a signal".to_owned(),
        };
        let rss = self
            .peak_rss_kib
            .map_or("?".to_owned(), |kib| format!("{} MiB", kib / 1024));
        eprintln!(
            "| {name} | {bytes} | {mode} | {:.2} s | {rss} | {result} |",
            self.wall.as_secs_f64()
        );
    }
}

/// The marker `/usr/bin/time` prints its measurements after.
const TIME_MARKER: &str = "@@hostile-time@@";

/// Runs the binary with `args` and `path` (or, with `stdin`, with `args`
/// alone and `stdin` as input), under `/usr/bin/time` when it exists and
/// the full sizes are on.
fn run_exprjit(args: &[&str], path: &Path, stdin: Option<String>) -> Run {
    let binary = env!("CARGO_BIN_EXE_exprjit");
    let time = Path::new("/usr/bin/time");
    let measure = full_size() && time.exists();
    let mut command = if measure {
        let mut command = Command::new(time);
        command.args(["-f", &format!("{TIME_MARKER}%e %M"), binary]);
        command
    } else {
        Command::new(binary)
    };
    command.args(args).env("NO_COLOR", "1");
    if stdin.is_none() {
        command.arg(path);
    }
    command.stdin(std::process::Stdio::piped());
    command.stdout(std::process::Stdio::piped());
    command.stderr(std::process::Stdio::piped());
    let start = Instant::now();
    let mut child = command.spawn().expect("start exprjit");
    {
        use std::io::Write as _;
        let mut input = child.stdin.take().expect("stdin");
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).expect("write stdin");
        }
    }
    let mut output = child.wait_with_output().expect("wait for exprjit");
    let wall = start.elapsed();
    let mut peak_rss_kib = None;
    if measure {
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        if let Some(at) = stderr.rfind(TIME_MARKER) {
            let fields: Vec<&str> = stderr[at + TIME_MARKER.len()..]
                .split_whitespace()
                .collect();
            peak_rss_kib = fields.get(1).and_then(|kib| kib.parse().ok());
            // `time` reports a non-zero exit on a line of its own.
            let kept: String = stderr[..at]
                .lines()
                .filter(|line| !line.starts_with("Command exited with non-zero status"))
                .map(|line| format!("{line}\n"))
                .collect();
            output.stderr = kept.into_bytes();
        }
    }
    Run {
        output,
        wall,
        peak_rss_kib,
    }
}

// ---------------------------------------------------------------------------
// Size

#[test]
fn source_over_the_size_limit_is_refused() {
    let len = MAX_SOURCE_LEN + size(1 << 20, 1);
    let mut source = String::with_capacity(len);
    while source.len() + 16 <= len {
        source.push_str("fn f(x) = x + 1\n");
    }
    while source.len() < len {
        source.push('\n');
    }
    run_case(
        "source_over_limit",
        &source,
        &Expect::CompileError("source is too large"),
    );
}

#[test]
fn source_just_under_the_size_limit_runs() {
    // Many small functions, each calling the next, up to the size limit.
    let limit = size(MAX_SOURCE_LEN - 64, 200_000);
    let mut source = String::new();
    let mut count = 0;
    loop {
        let line = format!("fn f{count}(x) = f{}(x + 1)\n", count + 1);
        if source.len() + line.len() + 40 > limit {
            break;
        }
        source.push_str(&line);
        count += 1;
    }
    let _ = writeln!(source, "fn f{count}(x) = x\nf0(0)");
    run_case(
        "source_at_limit",
        &source,
        &Expect::Prints(format!("{count}\n")),
    );
}

#[test]
fn the_most_items_allowed_and_more() {
    // The shortest items cost the most per source byte: each top-level
    // expression becomes a function of its own.
    let count = size(MAX_ITEMS, 20_000);
    let ones = "1\n".repeat(count);
    run_case("items_at_limit", &ones, &Expect::Prints(ones.clone()));
    let names = "a\n".repeat(count);
    run_case(
        "unknown_name_flood",
        &names,
        &Expect::CompileError("unknown name 'a'"),
    );
    // Only the full run: the quick one would parse four million items in
    // a debug build. Items past the limit, up to the size limit.
    if full_size() {
        let over = "1\n".repeat(MAX_SOURCE_LEN / 2 - 1);
        run_case(
            "items_over_limit",
            &over,
            &Expect::CompileError("too many items"),
        );
    }
}

#[test]
fn function_body_of_a_million_nodes() {
    // `x * 3 + x * 3 + ...`: three nodes per term (one `+` fewer).
    let terms = size(333_334, 20_000);
    let mut source = String::from("fn f(x) = x * 3");
    for _ in 1..terms {
        source.push_str(" + x * 3");
    }
    source.push_str("\nf(2)\n");
    let expected = 6 * terms as i64;
    run_case(
        "body_1m_nodes",
        &source,
        &Expect::Prints(format!("{expected}\n")),
    );
}

#[test]
fn bodies_of_a_million_nodes_up_to_the_size_limit() {
    // As many bodies of a million nodes as fit under the size limit: what
    // every stage keeps per node, for a source of nothing else.
    let terms = size(333_334, 2_000);
    let body = vec!["x * 3"; terms].join(" + ");
    let count = size((MAX_SOURCE_LEN - 16) / (body.len() + 16), 3);
    let mut source = String::with_capacity(count * (body.len() + 16));
    for i in 0..count {
        let _ = writeln!(source, "fn f{i}(x) = {body}");
    }
    let _ = writeln!(source, "f{}(2)", count - 1);
    let expected = 6 * terms as i64;
    run_case(
        "bodies_at_limit",
        &source,
        &Expect::Prints(format!("{expected}\n")),
    );
}

#[test]
fn a_hundred_thousand_functions() {
    let count = size(100_000, 5_000);
    let mut source = String::new();
    for i in 0..count {
        // Not a tail call: the call chain is `count` frames deep.
        let _ = writeln!(source, "fn f{i}(x) = 1 + f{}(x)", i + 1);
    }
    let _ = writeln!(source, "fn f{count}(x) = x\nf0(0)");
    run_case(
        "functions_100k",
        &source,
        &Expect::Prints(format!("{count}\n")),
    );
}

#[test]
fn a_hundred_thousand_parameters_and_arguments() {
    let count = size(100_000, 5_000);
    let params: Vec<String> = (0..count).map(|i| format!("p{i}")).collect();
    let args: Vec<String> = (0..count).map(|i| i.to_string()).collect();
    let source = format!(
        "fn f({}) = p0 + p{}\nf({})\n",
        params.join(", "),
        count - 1,
        args.join(", ")
    );
    run_case(
        "params_100k",
        &source,
        &Expect::Prints(format!("{}\n", count - 1)),
    );
    let repeated = format!("fn f({}) = x\n", vec!["x"; count].join(", "));
    run_case(
        "repeated_params_100k",
        &repeated,
        &Expect::CompileError("parameter 'x' is repeated"),
    );
}

// ---------------------------------------------------------------------------
// Nesting: each construct 100,000 deep (quick: 5,000)

fn depth() -> usize {
    size(100_000, 5_000)
}

#[test]
fn deep_parentheses() {
    let n = depth();
    let source = format!("{}1{}\n", "(".repeat(n), ")".repeat(n));
    run_case("deep_parens", &source, &Expect::Prints("1\n".into()));
}

#[test]
fn deep_if_in_branches_and_conditions() {
    let n = depth();
    let then = format!("{}1{}\n", "if 1 then ".repeat(n), " else 0".repeat(n));
    run_case("deep_if_then", &then, &Expect::Prints("1\n".into()));
    let cond = format!("{}1{}\n", "if ".repeat(n), " then 1 else 0".repeat(n));
    run_case("deep_if_cond", &cond, &Expect::Prints("1\n".into()));
}

#[test]
fn deep_let_in_bodies_and_values() {
    let n = depth();
    let mut body = String::new();
    for i in 0..n {
        let _ = write!(body, "let x{i} = {i} in ");
    }
    body.push_str("x0 + x1\n");
    run_case("deep_let_body", &body, &Expect::Prints("1\n".into()));
    let value = format!("{}1{}\n", "let x = ".repeat(n), " in x".repeat(n));
    run_case("deep_let_value", &value, &Expect::Prints("1\n".into()));
}

#[test]
fn deep_let_looking_up_an_outer_name() {
    // Every value names the outermost binding: a scope searched from the
    // innermost binding outwards made this quadratic.
    let n = size(100_000, 20_000);
    let mut source = String::from("let x = 7 in ");
    for i in 0..n {
        let _ = write!(source, "let y{i} = x in ");
    }
    source.push_str("x\n");
    run_case("deep_let_lookup", &source, &Expect::Prints("7\n".into()));
}

#[test]
fn deep_nested_calls() {
    let n = depth();
    let source = format!("fn f(x) = x + 1\n{}0{}\n", "f(".repeat(n), ")".repeat(n));
    run_case("deep_calls", &source, &Expect::Prints(format!("{n}\n")));
}

#[test]
fn deep_prefix_operators() {
    let n = depth();
    let minus = format!("{}1\n", "- ".repeat(n));
    let expected = if n.is_multiple_of(2) { "1\n" } else { "-1\n" };
    run_case("deep_unary_minus", &minus, &Expect::Prints(expected.into()));
    let mixed = format!("{}1\n", "!~".repeat(n / 2));
    // `~1` is -2, `!-2` is 0, `~0` is -1, `!-1` is 0: 0 after each pair.
    run_case("deep_unary_mixed", &mixed, &Expect::Prints("0\n".into()));
}

#[test]
fn long_operator_chains() {
    let n = depth();
    let left = format!("1{}\n", " + 1".repeat(n));
    run_case("chain_plus", &left, &Expect::Prints(format!("{}\n", n + 1)));
    let right = format!("{}1{}\n", "1 + (".repeat(n), ")".repeat(n));
    run_case(
        "chain_plus_right",
        &right,
        &Expect::Prints(format!("{}\n", n + 1)),
    );
    let and = format!("1{}\n", " && 1".repeat(n));
    run_case("chain_and", &and, &Expect::Prints("1\n".into()));
    let or = format!("0{}\n", " || 0".repeat(n));
    run_case("chain_or", &or, &Expect::Prints("0\n".into()));
}

#[test]
fn nesting_past_the_limit_is_an_error() {
    // Only the full run: a million-level tree is slow in a debug build. The
    // limit is enforced before the stages that recurse, `--emit ast`'s
    // printer included.
    if !full_size() {
        return;
    }
    let source = format!("{}1\n", "-".repeat(MAX_NESTING + 1));
    run_case(
        "nesting_over_limit",
        &source,
        &Expect::CompileError("expression nested too deeply"),
    );
}

#[test]
fn unclosed_parentheses() {
    let n = size(MAX_SOURCE_LEN - 2, 100_000);
    let source = format!("{}1\n", "(".repeat(n));
    // Past a million, the nesting is refused as the tokens pass, before
    // the end of the item shows that none is closed.
    let error = if n > MAX_NESTING {
        "expression nested too deeply"
    } else {
        "unclosed parenthesis"
    };
    run_case("unclosed_parens", &source, &Expect::CompileError(error));
}

// ---------------------------------------------------------------------------
// Diagnostics

#[test]
fn a_flood_of_errors_shows_the_first_hundred() {
    // One error per item, as many items as are allowed.
    let count = size(MAX_ITEMS, 20_000);
    let source = "$\n".repeat(count);
    run_case(
        "error_flood",
        &source,
        &Expect::CompileError("unknown character"),
    );
    let output = run_exprjit(&["--check"], &write_source("error_flood", &source), None).output;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr
            .lines()
            .filter(|line| line.starts_with("error") && line.contains("unknown character"))
            .count(),
        MAX_SHOWN_DIAGNOSTICS
    );
    let hidden = count - MAX_SHOWN_DIAGNOSTICS;
    assert!(
        stderr.contains(&format!("note: {hidden} more errors not shown")),
        "{stderr}"
    );
}

#[test]
fn a_flood_of_errors_in_one_item_fills_the_source() {
    // One item, one syntax error (at the second literal), then the lexer's
    // error for every bad literal of the rest: the diagnostics are the
    // only thing that grows.
    let count = size(MAX_SOURCE_LEN / 3 - 1, 20_000);
    let source = format!("{}\n", "0x ".repeat(count));
    run_case(
        "literal_error_flood",
        &source,
        &Expect::CompileError("invalid integer literal"),
    );
    let output = run_exprjit(
        &["--check"],
        &write_source("literal_error_flood", &source),
        None,
    )
    .output;
    let stderr = String::from_utf8_lossy(&output.stderr);
    let hidden = count + 1 - MAX_SHOWN_DIAGNOSTICS;
    assert!(
        stderr.contains(&format!("note: {hidden} more errors not shown")),
        "{stderr}"
    );
}

#[test]
fn an_error_on_a_megabyte_line_is_shown_without_the_line() {
    let len = size(MAX_SOURCE_LEN - 2, 200_000);
    let source = format!("{}\n", "a".repeat(len));
    run_case(
        "long_name",
        &source,
        &Expect::CompileError("unknown name 'aaaa"),
    );
    let output = run_exprjit(&["--check"], &write_source("long_name", &source), None).output;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.len() < 2_000, "{} bytes of stderr", stderr.len());
    assert!(stderr.contains("long_name.ex:1:1"), "{stderr}");
    assert!(stderr.contains("is not shown"), "{stderr}");
}

#[test]
fn tokens_of_a_megabyte_line() {
    // `--emit tokens` once counted each token's column from the start of
    // the file: quadratic on one long line.
    let n = size(MAX_SOURCE_LEN / 2 - 2, 100_000);
    let source = format!("1{}\n", "+1".repeat(n));
    let path = write_source("token_line", &source);
    let run = run_exprjit(&["--emit", "tokens"], &path, None);
    run.report("token_line", source.len(), "--emit tokens");
    assert_eq!(run.output.status.code(), Some(0));
    assert!(run.wall < time_limit(), "took {:?}", run.wall);
    if let Some(rss) = run.peak_rss_kib {
        assert!(rss < RSS_LIMIT_KIB, "token_line: peak RSS {rss} KiB");
    }
    let stdout = String::from_utf8_lossy(&run.output.stdout);
    let last_before_newline = stdout.lines().rev().nth(1).unwrap_or("");
    assert_eq!(last_before_newline, format!("1:{} integer `1`", 2 * n + 1));
    let _ = std::fs::remove_file(path);
}

#[test]
fn many_unknown_names_among_many_definitions() {
    // Every error looks for a "did you mean" among all definitions (or all
    // names in scope): without a bound on that work, quadratic.
    let (defs, errors) = (size(60_000, 3_000), size(20_000, 1_000));
    let name = |i: usize| format!("function_with_a_long_name_{i:06}");
    let mut source = String::new();
    for i in 0..defs {
        let _ = writeln!(source, "fn {}(x) = x", name(i));
    }
    for i in 0..errors {
        let _ = writeln!(source, "{}x(1)", name(i));
    }
    run_case(
        "unknown_functions",
        &source,
        &Expect::CompileError("unknown function 'function_with_a_long_name_000000x'"),
    );
    let mut lets = String::new();
    for i in 0..defs {
        let _ = write!(lets, "let variable_{i:06} = 1 in ");
    }
    let uses: Vec<String> = (0..errors).map(|i| format!("variable_{i:06}x")).collect();
    lets.push_str(&uses.join(" + "));
    lets.push('\n');
    run_case(
        "unknown_names",
        &lets,
        &Expect::CompileError("unknown name 'variable_000000x'"),
    );
}
