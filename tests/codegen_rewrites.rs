//! Differential tests of the code generator's rewrites: every operator with
//! constants (folding, immediates, strength reduction, division by
//! constants) and variables over edge values, and random programs that
//! stress register allocation, spills across calls and branches, and calls
//! and tail calls with more arguments than registers. Each result of the JIT
//! must equal the reference interpreter's, errors included.
//!
//! `EXPRJIT_REWRITE_PROGRAMS=N` runs N random programs instead of the quick
//! default; `EXPRJIT_REWRITE_TRACE=1` prints each before running it.

use exprjit::pipeline::{self, Backend, Runner, Timings};

/// Constants and arguments at the edges of each rewrite: zero, ±1, powers of
/// two (shift and division rewrites), magic-number divisors (3, 7, 10,
/// -10, ...), imm8/imm32 boundaries, shift counts past 63, and the extremes.
const EDGES: [i64; 30] = [
    0,
    1,
    -1,
    2,
    -2,
    3,
    -3,
    7,
    -7,
    10,
    -10,
    16,
    -16,
    63,
    64,
    65,
    127,
    128,
    -129,
    1000,
    1_000_000_007,
    -641,
    1 << 31,
    -(1 << 31),
    (1 << 31) - 1,
    1 << 32,
    1 << 62,
    i64::MAX,
    i64::MIN,
    i64::MIN + 1,
];

const OPS: [&str; 16] = [
    "+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>", "==", "!=", "<", "<=", ">", ">=",
];

/// A literal for `value`: hex spells the bit pattern, so every i64 is one
/// constant (no negation to fold).
fn lit(value: i64) -> String {
    format!("0x{:X}", value as u64)
}

/// Compiles `source` for both back ends and compares every call in `calls`.
fn compare(source: &str, calls: &[(usize, Vec<i64>)]) {
    let mut timings = Timings::default();
    let program = pipeline::front_end(source, &[], &mut timings)
        .unwrap_or_else(|errors| panic!("{source}\n{errors:?}"));
    let jit = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        Runner::new(&program, Backend::Jit, &mut Timings::default())
    }))
    .unwrap_or_else(|_| panic!("code generation panicked on:\n{source}"))
    .expect("JIT loads");
    let interp = Runner::new(&program, Backend::Interp, &mut timings).expect("interp");
    for (func, args) in calls {
        let expected = interp.call(*func, args, None).expect("interp runs");
        let actual = jit.call(*func, args, None).expect("JIT runs");
        assert_eq!(
            actual, expected,
            "function {} ({}) with {args:?} in:\n{source}",
            func, program.funcs[*func].name
        );
    }
}

#[test]
fn operators_with_constant_and_variable_operands() {
    for op in OPS {
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
        compare(&source, &calls);
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
    compare(&source, &calls);
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
    compare(source, &calls);
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn value(&mut self) -> i64 {
        if self.below(3) == 0 {
            self.next() as i64 >> self.below(64)
        } else {
            EDGES[self.below(EDGES.len())]
        }
    }
}

/// Random expressions over `vars`, calling only earlier functions (so every
/// program terminates), with `let`, `if`, every operator and calls of up
/// to nine arguments (in tail position where the shape puts them there).
struct Gen<'a> {
    rng: &'a mut Rng,
    arities: &'a [usize],
}

impl Gen<'_> {
    fn expr(&mut self, vars: usize, depth: usize) -> String {
        let leaf = depth == 0 || self.rng.below(4) == 0;
        if leaf {
            return if vars > 0 && self.rng.below(3) != 0 {
                format!("v{}", self.rng.below(vars))
            } else {
                lit(self.rng.value())
            };
        }
        match self.rng.below(10) {
            0 | 1 if !self.arities.is_empty() => {
                let callee = self.rng.below(self.arities.len());
                let args: Vec<String> = (0..self.arities[callee])
                    .map(|_| self.expr(vars, depth - 1))
                    .collect();
                format!("f{callee}({})", args.join(", "))
            }
            2 => format!(
                "(if {} then {} else {})",
                self.expr(vars, depth - 1),
                self.expr(vars, depth - 1),
                self.expr(vars, depth - 1)
            ),
            3 => format!(
                "(let v{vars} = {} in {})",
                self.expr(vars, depth - 1),
                self.expr(vars + 1, depth - 1)
            ),
            4 => {
                let op = ["-", "!", "~"][self.rng.below(3)];
                format!("{op}({})", self.expr(vars, depth - 1))
            }
            5 => {
                let op = ["&&", "||"][self.rng.below(2)];
                format!(
                    "({} {op} {})",
                    self.expr(vars, depth - 1),
                    self.expr(vars, depth - 1)
                )
            }
            _ => {
                let op = OPS[self.rng.below(OPS.len())];
                format!(
                    "({} {op} {})",
                    self.expr(vars, depth - 1),
                    self.expr(vars, depth - 1)
                )
            }
        }
    }
}

#[test]
fn random_programs_agree_with_the_interpreter() {
    let programs: usize = std::env::var("EXPRJIT_REWRITE_PROGRAMS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(150);
    let mut rng = Rng(0x5EED_0000_0000_0005);
    for _ in 0..programs {
        let funcs = 2 + rng.below(6);
        let mut arities = Vec::new();
        let mut source = String::new();
        for index in 0..funcs {
            let arity = [0, 1, 2, 3, 4, 6, 7, 9][rng.below(8)];
            let depth = 2 + rng.below(4);
            let body = Gen {
                rng: &mut rng,
                arities: &arities,
            }
            .expr(arity, depth);
            let params: Vec<String> = (0..arity).map(|p| format!("v{p}")).collect();
            source.push_str(&format!("fn f{index}({}) = {body}\n", params.join(", ")));
            arities.push(arity);
        }
        let mut calls = Vec::new();
        for (func, &arity) in arities.iter().enumerate() {
            for _ in 0..6 {
                calls.push((func, (0..arity).map(|_| rng.value()).collect()));
            }
        }
        if std::env::var_os("EXPRJIT_REWRITE_TRACE").is_some() {
            eprintln!("--- program\n{source}");
        }
        compare(&source, &calls);
    }
}

/// Endless loops made of tail calls (frameless, with stack arguments, and
/// changing the number of stack arguments on every call) run in constant
/// stack and still pass a stack check, so an interrupt stops each of them.
#[test]
fn tail_call_loops_stay_interruptible() {
    use exprjit::jit::Interrupt;
    use exprjit::runtime_error::RuntimeError;
    static INTERRUPT: Interrupt = Interrupt::new();
    let source = "
fn spin(n) = spin(n + 1)
fn ping(n) = pong(n + 1)
fn pong(n) = ping(n - 1)
fn rotate(a, b, c, d, e, f, g, h) = rotate(b, c, d, e, f, g, h, a + 1)
fn grow(n) = shrink(n, 1, 2, 3, 4, 5, 6, 7, 8)
fn shrink(n, a, b, c, d, e, f, g, h) = grow(n + a + h)
";
    let mut timings = Timings::default();
    let program = pipeline::front_end(source, &[], &mut timings).expect("compiles");
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
        assert_eq!(result, Err(RuntimeError::Interrupted), "function {func}");
    }
}

/// Hundreds of values waiting across a call make a frame larger than the
/// stack reserve covers: the function then checks the limit after
/// allocating its frame, and recursing with it ends in a stack overflow
/// error rather than a crash.
#[test]
fn large_frames_are_checked_and_overflow_cleanly() {
    use exprjit::runtime_error::RuntimeError;
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
    compare(
        &source,
        &[(1, vec![3]), (1, vec![-7]), (2, vec![0]), (2, vec![3])],
    );

    let mut timings = Timings::default();
    let program = pipeline::front_end(&source, &[], &mut timings).expect("compiles");
    let jit = Runner::new(&program, Backend::Jit, &mut timings).expect("JIT loads");
    let result = jit.call(2, &[10_000_000], None).expect("runs");
    assert!(
        matches!(result, Err(RuntimeError::StackOverflow { func: 2, .. })),
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
    compare(&source, &calls);
    let program = pipeline::front_end(&source, &[], &mut Timings::default()).expect("valid");
    let asm = exprjit::internals::compile(&program);
    let listing = exprjit::internals::disassemble(
        &asm.code,
        0,
        &asm.map.symbols(),
        &asm.map.func_symbol(1).expect("s1 is the second function"),
    );
    assert!(listing.contains("cmov"), "no cmov in s1:\n{listing}");
}
