//! Differential tests of the code generator's rewrites: every operator with
//! constants (folding, immediates, strength reduction, division by
//! constants) and variables over edge values, and random programs that
//! stress register allocation, spills across calls and branches, and calls
//! and tail calls with more arguments than registers. Each result of the JIT
//! must equal the reference interpreter's, errors included.
//!
//! The edge values (`EDGES`), the random programs and the check
//! (`agree`/`assert_agree`) are the shared ones of `exprjit-testgen`
//! (`testgen/`), the same as the differential test's and the fuzz target's.
//!
//! `EXPRJIT_REWRITE_PROGRAMS=N` runs N random programs instead of the quick
//! default; `EXPRJIT_REWRITE_TRACE=1` prints each before running it.

mod common;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

use exprjit::pipeline::{self, Backend, Runner, Timings};
use exprjit_testgen::{
    EDGES, MAX_WIDE_PARAMS, agree, assert_agree, binary_operators, render, strategy,
};

/// A literal for `value`: hex spells the bit pattern, so every i64 is one
/// constant (no negation to fold).
fn lit(value: i64) -> String {
    format!("0x{:X}", value as u64)
}

#[test]
fn operators_with_constant_and_variable_operands() {
    for op in binary_operators() {
        let mut source = String::new();
        let mut calls = Vec::new();
        // f0: both variables.
        source.push_str(&format!("fn v(x, y) = x {op} y\n"));
        for &x in &EDGES {
            for &y in &EDGES {
                calls.push((0, vec![x, y]));
            }
        }
        for &c in &EDGES {
            let c_lit = lit(c);
            let base = calls.iter().map(|(f, _)| *f).max().unwrap_or(0) + 1;
            // Constant on the right, on the left, both (folded), and the
            // result used by a comparison, a branch and another operator.
            source.push_str(&format!("fn r{base}(x) = x {op} {c_lit}\n"));
            source.push_str(&format!("fn l{base}(x) = {c_lit} {op} x\n"));
            source.push_str(&format!("fn k{base}(x) = {c_lit} {op} {c_lit} + x\n"));
            source.push_str(&format!(
                "fn b{base}(x, y) = if (x {op} {c_lit}) < y then y - (x {op} {c_lit}) else (y {op} {c_lit}) * 3\n"
            ));
            for &x in &EDGES {
                for func in base..base + 3 {
                    calls.push((func, vec![x]));
                }
                calls.push((base + 3, vec![x, x.wrapping_add(1)]));
                calls.push((base + 3, vec![x, 5]));
            }
        }
        assert_agree(&source, &calls);
    }
}

#[test]
fn division_by_every_edge_constant_in_context() {
    // The quotient and remainder of the same dividend kept alive together,
    // with more values in registers around them, as in the digit-sum loop.
    let mut source = String::new();
    let mut calls = Vec::new();
    for (index, &d) in EDGES.iter().enumerate() {
        let d = lit(d);
        source.push_str(&format!(
            "fn q{index}(x, y, z) = (y + x / {d}) * 7 + (z ^ x % {d}) - (x / {d}) * {d} + y % {d}\n"
        ));
        for &x in &EDGES {
            calls.push((index, vec![x, 11, -5]));
            calls.push((index, vec![x, x, x]));
        }
    }
    assert_agree(&source, &calls);
}

#[test]
fn division_by_an_or_with_a_constant_has_no_zero_test() {
    // `b | c` with c nonzero is never zero: no trap site, and the same
    // results as the interpreter for every edge value, `-1` and
    // `i64::MIN` among them. With c zero the test stays.
    let source = "fn q(a, b) = a / (b | 1)\n\
                  fn r(a, b) = a % (3 | b)\n\
                  fn n(a, b) = (a | b) / ((b | 0x100) | a) + a % (b | 0x8000000000000000)\n\
                  fn z(a, b) = a / (b | 0)\n";
    let mut calls = Vec::new();
    for &a in &EDGES {
        for &b in &EDGES {
            for func in 0..4 {
                calls.push((func, vec![a, b]));
            }
        }
    }
    assert_agree(source, &calls);
    let program = pipeline::front_end(source, &mut Timings::default()).unwrap();
    let artifact = exprjit::internals::compile(&program);
    let trap_free: Vec<bool> = artifact.map.funcs.iter().map(|f| f.trap_free).collect();
    assert_eq!(trap_free, [true, true, true, false]);
}

#[test]
fn calls_and_tail_calls_with_stack_arguments() {
    let source = "
fn sum8(a, b, c, d, e, f, g, h) = a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f + 7 * g + 8 * h
fn fewer(a, b) = if a <= 0 then b else more(a - 1, b, 1, 2, 3, 4, 5, 6, 7, 8)
fn more(a, b, c, d, e, f, g, h, i, j) =
    if a <= 0 then b + c + j else fewer(a - 1, b + sum8(a, b, c, d, e, f, g, h) + i * j)
fn same(n, a, b, c, d, e, f, g) = if n == 0 then a - g else same(n - 1, b, c, d, e, f, g, a + n)
fn spill(a, b) = sum8(a, b, a * b, a - b, sum8(b, a, 1, 2, 3, 4, 5, 6), a, b, 9) + a * (b + sum8(1, 2, 3, 4, 5, 6, 7, a))
fn nine(a, b, c, d, e, f, g, h, i) = i - a + h * 2
fn pass(a, b, c, d, e, f, g, h, i) = nine(i, h, g, f, e, d, c, b, a)
";
    let mut calls = Vec::new();
    for n in [0, 1, 2, 5, 17, 1000] {
        calls.push((1, vec![n, 3]));
        calls.push((2, vec![n, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
        calls.push((3, vec![n, 1, 2, 3, 4, 5, 6, 7]));
        calls.push((4, vec![n, -n]));
        calls.push((6, vec![n, 2, 3, 4, 5, 6, 7, 8, 9]));
    }
    assert_agree(source, &calls);
}

/// Programs from the shared generator, each function called directly with
/// edge and random arguments (the differential test only runs the
/// top-level expressions): register allocation, spills across calls and
/// branches, rewrites with variable operands, calls and tail calls with
/// stack arguments. Seeded, so the default run is the same every time;
/// proptest still shrinks a failure to a minimal program.
#[test]
fn random_programs_agree_with_the_interpreter() {
    let programs: u32 = common::env_count("EXPRJIT_REWRITE_PROGRAMS", 150);
    let trace = std::env::var_os("EXPRJIT_REWRITE_TRACE").is_some();
    let config = Config {
        cases: programs,
        failure_persistence: None,
        ..Config::default()
    };
    // XorShift: much quicker than the default ChaCha unoptimised.
    let rng = TestRng::deterministic_rng(RngAlgorithm::XorShift);
    let mut runner = TestRunner::new_with_rng(config, rng);
    // Six argument lists per function, as many arguments as any may have.
    let arguments = prop::collection::vec(
        prop::collection::vec(strategy::constant(), MAX_WIDE_PARAMS),
        6,
    );
    let result = runner.run(&(strategy::program(), arguments), |(program, arguments)| {
        let source = render(&program);
        if trace {
            eprintln!("--- program\n{source}");
        }
        let mut calls = Vec::new();
        for (func, raw) in program.rendered_funcs().iter().enumerate() {
            for args in &arguments {
                calls.push((func, args[..raw.param_count()].to_vec()));
            }
        }
        agree(&source, &calls)?;
        Ok(())
    });
    if let Err(error) = result {
        panic!("{error}");
    }
}

/// Endless loops made of tail calls (frameless, with stack arguments, and
/// changing the number of stack arguments on every call) run in constant
/// stack and still pass a stack check, so an interrupt stops each of them.
#[test]
fn tail_call_loops_stay_interruptible() {
    use exprjit::fault::Fault;
    use exprjit::jit::LimitInterrupt;
    static INTERRUPT: LimitInterrupt = LimitInterrupt::new();
    let source = "
fn spin(n) = spin(n + 1)
fn ping(n) = pong(n + 1)
fn pong(n) = ping(n - 1)
fn rotate(a, b, c, d, e, f, g, h) = rotate(b, c, d, e, f, g, h, a + 1)
fn grow(n) = shrink(n, 1, 2, 3, 4, 5, 6, 7, 8)
fn shrink(n, a, b, c, d, e, f, g, h) = grow(n + a + h)
";
    let mut timings = Timings::default();
    let program = pipeline::front_end(source, &mut timings).expect("compiles");
    let jit = Runner::new(&program, Backend::Jit, &mut timings).expect("JIT loads");
    let cases: [(usize, Vec<i64>); 4] = [
        (0, vec![0]),
        (1, vec![0]),
        (3, vec![1, 2, 3, 4, 5, 6, 7, 8]),
        (4, vec![0]),
    ];
    for (func, args) in cases {
        let stopper = std::thread::spawn(|| {
            std::thread::sleep(std::time::Duration::from_millis(100));
            INTERRUPT.request();
        });
        let result = jit.call(func, &args, Some(&INTERRUPT)).expect("runs");
        stopper.join().expect("stopper thread");
        assert_eq!(result, Err(Fault::Interrupted), "function {func}");
    }
}

/// Hundreds of values waiting across a call make a frame larger than the
/// stack reserve covers: the function then checks the limit after
/// allocating its frame, and recursing with it ends in a stack overflow
/// error rather than a crash.
#[test]
fn large_frames_are_checked_and_overflow_cleanly() {
    use exprjit::fault::Fault;
    let depth = 1500;
    let mut body = String::from("deep(n - 1)");
    let mut flat = String::from("g(n)");
    for _ in 0..depth {
        body = format!("g(n) + ({body})");
        flat = format!("g(n) + ({flat})");
    }
    let source = format!(
        "fn g(x) = x + 1\nfn wide(n) = {flat}\nfn deep(n) = if n == 0 then 0 else {body}\n"
    );
    assert_agree(
        &source,
        &[(1, vec![3]), (1, vec![-7]), (2, vec![0]), (2, vec![3])],
    );

    let mut timings = Timings::default();
    let program = pipeline::front_end(&source, &mut timings).expect("compiles");
    let jit = Runner::new(&program, Backend::Jit, &mut timings).expect("JIT loads");
    let result = jit.call(2, &[10_000_000], None).expect("runs");
    assert!(
        matches!(result, Err(Fault::StackOverflow { func: 2, .. })),
        "{result:?}"
    );
}

#[test]
fn branchless_selects_pick_the_right_side() {
    // `if` over a comparison with small branches becomes `cmp` + `cmov`:
    // every comparison, constant and variable operands, both sides, inside
    // expressions and argument lists that keep other values in registers.
    let mut source = String::from("fn sum4(a, b, c, d) = a + 2 * b + 3 * c + 4 * d\n");
    let mut calls = Vec::new();
    for (index, op) in ["==", "!=", "<", "<=", ">", ">="].into_iter().enumerate() {
        let base = 1 + 4 * index;
        source.push_str(&format!(
            "fn s{base}(x, y) = if x {op} y then x - y else y * 2 + x\n\
             fn c{base}(x, y) = if x {op} 7 then -1 else x ^ y\n\
             fn n{base}(x, y) = x * 3 + (if y {op} x then ~x else 0x7FFFFFFFFFFFFFFF) - y\n\
             fn a{base}(x, y) = sum4(x, if x {op} y then y else x, let t = x + y in if t {op} 0 then t else -t, y)\n"
        ));
        for &x in &EDGES {
            for &y in &[0, 1, -1, 7, i64::MIN, i64::MAX, x, x.wrapping_add(1)] {
                for func in base..base + 4 {
                    calls.push((func, vec![x, y]));
                }
            }
        }
    }
    assert_agree(&source, &calls);
    let program = pipeline::front_end(&source, &mut Timings::default()).expect("valid");
    let asm = exprjit::internals::compile(&program);
    let listing = exprjit::internals::disassemble(
        &asm.code,
        0,
        &asm.map.symbols(),
        &asm.map.func_symbol(1).expect("s1 is the second function"),
    );
    assert!(listing.contains("cmov"), "no cmov in s1:\n{listing}");
}

/// Left-leaning operator chains far longer than the lowering and the
/// analysis recurse into (past 64 operations they loop down the left
/// operands): every operator, constants and variables, divisions that may
/// trap, masked shifts, comparisons and `&&`/`||` along the spine, in
/// return position, as a call argument, under a `let` and as a branch
/// condition. The loop must emit what the recursion would: the same
/// results as the interpreter, errors included.
#[test]
fn long_left_leaning_chains_agree_with_the_interpreter() {
    let operators: Vec<&str> = binary_operators().collect();
    let mut next = exprjit_testgen::xorshift(0x2545_F491_4F6C_DD1D);
    let operands = [
        "x",
        "y",
        "3",
        "(y | 1)",
        "((x >> 5) & 0x7FF)",
        "-x",
        "0x7FFFFFFFFFFFFFFF",
    ];
    let mut source = String::new();
    for func in 0..6 {
        let mut chain = String::from("x");
        for _ in 0..300 {
            let op = operators[next(operators.len())];
            let operand = operands[next(operands.len())];
            // Parenthesised, the chain so far is the left operand whatever
            // the precedence (and comparisons do not chain).
            chain = format!("({chain}) {op} {operand}");
        }
        let body = match func {
            0 => chain,
            1 => format!("f0({chain}, y) + 1"),
            2 => format!("let t = {chain} in t * 3 + y"),
            3 => format!("if {chain} then x else y"),
            _ => format!("y + ({chain})"),
        };
        source.push_str(&format!("fn f{func}(x, y) = {body}\n"));
    }
    let mut calls = Vec::new();
    for func in 0..6 {
        for &x in &EDGES[..12] {
            for &y in &[0, 1, -1, 7, i64::MIN] {
                calls.push((func, vec![x, y]));
            }
        }
    }
    assert_agree(&source, &calls);
}
