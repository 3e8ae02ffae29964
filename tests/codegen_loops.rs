//! Self tail calls as loops, variables in registers by need, and inlining:
//! the JIT must agree with the reference interpreter (values and errors)
//! on loops of every shape the code generator distinguishes, and keep the
//! runtime contract (interrupts stop loops, deep recursion through a loop
//! or through inlined code overflows cleanly, errors inside inlined code
//! name the inlined function).
//!
//! `EXPRJIT_LOOP_PROGRAMS=N` runs N random loop programs instead of the
//! quick default; `EXPRJIT_LOOP_TRACE=1` prints each before running it.

mod common;

use exprjit::fault::Fault;
use exprjit::pipeline::{self, Backend, Runner, Timings};

/// Compiles `source` for both back ends and compares every call in `calls`;
/// returns the JIT's results.
fn compare(source: &str, calls: &[(&str, Vec<i64>)]) -> Vec<Result<i64, Fault>> {
    let mut timings = Timings::default();
    let program = pipeline::front_end(source, &mut timings)
        .unwrap_or_else(|errors| panic!("{source}\n{errors:?}"));
    let jit = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        Runner::new(&program, Backend::Jit, &mut Timings::default())
    }))
    .unwrap_or_else(|_| panic!("code generation panicked on:\n{source}"))
    .expect("JIT loads");
    let interp = Runner::new(&program, Backend::Interp, &mut timings).expect("interp");
    let mut results = Vec::new();
    for (name, args) in calls {
        let func = program
            .funcs
            .iter()
            .position(|f| f.name == *name)
            .unwrap_or_else(|| panic!("no function {name}"));
        let expected = interp.call(func, args, None).expect("interp runs");
        let actual = jit.call(func, args, None).expect("JIT runs");
        assert_eq!(actual, expected, "{name} with {args:?} in:\n{source}");
        results.push(actual);
    }
    results
}

/// Arguments at the edges: zero, ±1, small counts, signs, extremes.
const EDGES: [i64; 12] = [
    0,
    1,
    -1,
    2,
    3,
    7,
    -8,
    100,
    1 << 33,
    -(1 << 40),
    i64::MAX,
    i64::MIN,
];

fn calls_of<'a>(name: &'a str, arity: usize, counts: &[i64]) -> Vec<(&'a str, Vec<i64>)> {
    let mut calls = Vec::new();
    for &count in counts {
        for (k, &edge) in EDGES.iter().enumerate() {
            let mut args = vec![count];
            args.extend((1..arity).map(|i| EDGES[(k + i) % EDGES.len()].wrapping_add(edge)));
            calls.push((name, args));
        }
    }
    calls
}

#[test]
fn loops_of_every_shape_agree_with_the_interpreter() {
    let source = "
fn sum_to(n, acc) = if n <= 0 then acc else sum_to(n - 1, acc + n)
fn mix(n, h) = if n <= 0 then h else mix(n - 1, (h ^ ((h >> 29) & 0x7FFFFFFFF)) * 0x9E3779B97F4A7C15 + n)
fn with_lets(n, a, b) =
    if n <= 0 then a - b
    else let t = a * 3 + b in let u = t ^ (t >> 7) in with_lets(n - 1, u, t - a)
fn divides(n, d, acc) = if n <= 0 then acc else divides(n - 1, d + 1, acc + n % (d | 1) + n / (d - 3))
fn shifts(n, s, x) = if n <= 0 then x else shifts(n - 1, s + 5, (x << s) ^ (x >> (s + 1)) ^ n)
fn helper(x) = x * 7 + 1
fn calls_inside(n, acc) = if n <= 0 then acc else calls_inside(n - 1, acc + helper(n) + sum_to(n % 5, 0))
fn recurse_inside(n, acc) =
    if n <= 0 then acc
    else if n % 3 == 0 then recurse_inside(n - 1, acc + recurse_inside(n / 3, 1))
    else recurse_inside(n - 1, acc * 2 + 1)
fn seven(n, a, b, c, d, e, f) = if n <= 0 then a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f else seven(n - 1, b, c, d, e, f, a + n)
fn shift_stack(n, a, b, c, d, e, f, g, h, s) =
    if n <= 0 then a ^ b ^ c ^ d ^ e ^ f ^ g ^ h ^ s
    else shift_stack(n - 1, b, c, d, e, f, g, h, ((a + d * 3) ^ (g >> 2)) & 0xFFFFFFF, s + (h & 15))
fn swap_stack(n, a, b, c, d, e, f, g, h) =
    if n <= 0 then g * 3 - h
    else swap_stack(n - 1, b, a, d, c, f, e, h, g + n)
fn rotate_stack(n, a, b, c, d, e, f, g, h, i) =
    if n <= 0 then g - 2 * h + 3 * i
    else rotate_stack(n - 1, a, b, c, d, e, f, h, i, g + 1)
fn stack_and_calls(n, a, b, c, d, e, f, g, h) =
    if n <= 0 then a + h
    else stack_and_calls(n - 1, b + helper(h), c, d, e, f, g, h, a - sum_to(n % 4, g))
fn choose(n, best, x) =
    if n <= 0 then best
    else choose(n - 1, if x > best then x else best, (x * 69069 + 12345) & 0xFFFFFFFF)
";
    let mut calls = Vec::new();
    let counts = [0, 1, 2, 5, 40];
    for (name, arity) in [
        ("sum_to", 2),
        ("mix", 2),
        ("with_lets", 3),
        ("divides", 3),
        ("shifts", 3),
        ("calls_inside", 2),
        ("recurse_inside", 2),
        ("seven", 7),
        ("shift_stack", 10),
        ("swap_stack", 9),
        ("rotate_stack", 10),
        ("stack_and_calls", 9),
        ("choose", 3),
    ] {
        calls.extend(calls_of(name, arity, &counts));
    }
    compare(source, &calls);
}

/// Division by zero inside inlined code names the inlined function and
/// points at its operator, exactly as when it is called.
#[test]
fn errors_in_inlined_code_name_the_inlined_function() {
    let source = "fn ratio(a, b) = a / b\nfn user(x) = ratio(x * 2, x - 3) + 1\nfn looping(n, acc) = if n == 0 then acc else looping(n - 1, acc + ratio(100, n - 2))\n";
    let results = compare(
        source,
        &[
            ("user", vec![3]),
            ("user", vec![5]),
            ("looping", vec![5, 0]),
            ("looping", vec![1, 0]),
        ],
    );
    let program = pipeline::front_end(source, &mut Timings::default()).expect("valid");
    let ratio = program
        .funcs
        .iter()
        .position(|f| f.name == "ratio")
        .expect("defined");
    let slash = source.find('/').expect("one division");
    for result in [&results[0], &results[2]] {
        let Err(Fault::DivisionByZero { func, span }) = result else {
            panic!("expected a division by zero, got {result:?}");
        };
        assert_eq!(*func, ratio);
        assert_eq!(span.start, slash);
    }
    assert_eq!(results[1], Ok(6));
    assert_eq!(results[3], Ok(-100));
}

/// The inlined callee keeps its own code (the API and `:asm` call it), and
/// its caller calls it no more.
#[test]
fn inlined_functions_keep_their_own_code() {
    let source = "fn max(a, b) = if a > b then a else b\nfn best(x, y, z) = max(max(x, y), z)\n";
    let program = pipeline::front_end(source, &mut Timings::default()).expect("valid");
    let artifact = exprjit::internals::compile(&program);
    let listing = |func| {
        exprjit::internals::disassemble(
            &artifact.code,
            0,
            &artifact.map.symbols(),
            &artifact.map.func_symbol(func).expect("a function"),
        )
    };
    let max = listing(0);
    let best = listing(1);
    assert!(max.contains("cmov"), "{max}");
    assert!(!best.contains("call"), "{best}");
    assert_eq!(best.matches("cmov").count(), 2, "{best}");
    compare(source, &calls_of("best", 3, &[0, 5, -5]));
}

/// A recursion that passes through loops and inlined code still ends in
/// a stack overflow naming a function of the recursion, not a crash.
#[test]
fn deep_recursion_through_loops_and_inlined_code_overflows_cleanly() {
    let source = "
fn step(n) = n - 1
fn down(n) = if n == 0 then 0 else 1 + down(step(n))
fn loop_then_recurse(n, acc) = if n == 0 then acc else if n % 2 == 0 then loop_then_recurse(n - 1, acc + 1) else 1 + loop_then_recurse(n - 1, acc)
fn wide(n, a, b, c, d, e, f, g) = if n == 0 then a + g else if n % 3 == 0 then wide(n - 1, b, c, d, e, f, g, a) else 1 + wide(n - 1, a, b, c, d, e, f, g + 1)
";
    let mut timings = Timings::default();
    let program = pipeline::front_end(source, &mut timings).expect("compiles");
    let jit = Runner::new(&program, Backend::Jit, &mut timings).expect("JIT loads");
    for (name, args) in [
        ("down", vec![100_000_000]),
        ("loop_then_recurse", vec![1_000_000_000, 0]),
        ("wide", vec![1_000_000_000, 1, 2, 3, 4, 5, 6, 7]),
    ] {
        let func = program
            .funcs
            .iter()
            .position(|f| f.name == name)
            .expect("defined");
        match jit.call(func, &args, None).expect("runs") {
            Err(Fault::StackOverflow { name: in_func, .. }) => {
                assert_eq!(in_func, name, "the recursion is {name}'s")
            }
            other => panic!("{name}: expected a stack overflow, got {other:?}"),
        }
    }
    // And shallower, they agree with the interpreter.
    compare(
        source,
        &[
            ("down", vec![1000]),
            ("loop_then_recurse", vec![1001, 3]),
            ("wide", vec![999, 1, 2, 3, 4, 5, 6, 7]),
        ],
    );
}

/// Endless loops of every kind (frameless; with a frame and a call per
/// iteration; with stack parameters in registers and in memory; entered
/// through the shrink-wrapped entry copy) pass their loop head's check on
/// every iteration, so an interrupt stops each.
#[test]
fn endless_loops_stop_on_an_interrupt() {
    use exprjit::jit::LimitInterrupt;
    static INTERRUPT: LimitInterrupt = LimitInterrupt::new();
    let source = "
fn g(x) = x + 1
fn h(x) = if x > 0 then x else -x
fn spin(n) = spin(n + 1)
fn calling(n, acc) = if n < 0 then acc else calling(n + 1, acc + h(n))
fn wide(a, b, c, d, e, f, g, h, i, j) = wide(b, c, d, e, f, g, h, i, j, a + 1)
fn wide_calling(a, b, c, d, e, f, g, h) = if a < 0 then h else wide_calling(a + 1, c, b, d, e, f, h, g + h(a))
fn recursing(n) = if n < 0 then 0 else if n == 5 then 1 + recursing(-1) + recursing(n + 1) else recursing(n + 1)
";
    let mut timings = Timings::default();
    let program = pipeline::front_end(source, &mut timings).expect("compiles");
    let jit = Runner::new(&program, Backend::Jit, &mut timings).expect("JIT loads");
    for (name, args) in [
        ("spin", vec![0]),
        ("calling", vec![0, 0]),
        ("wide", vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
        ("wide_calling", vec![1, 2, 3, 4, 5, 6, 7, 8]),
        ("recursing", vec![0]),
    ] {
        let func = program
            .funcs
            .iter()
            .position(|f| f.name == name)
            .expect("defined");
        let stopper = std::thread::spawn(|| {
            std::thread::sleep(std::time::Duration::from_millis(50));
            INTERRUPT.request();
        });
        let result = jit.call(func, &args, Some(&INTERRUPT)).expect("runs");
        stopper.join().expect("stopper thread");
        assert_eq!(result, Err(Fault::Interrupted), "{name}");
    }
}

/// A small deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }

    fn value(&mut self) -> i64 {
        match self.below(3) {
            0 => EDGES[self.below(EDGES.len())],
            1 => self.below(20) as i64 - 5,
            _ => self.next() as i64,
        }
    }
}

/// Expressions over the variables `names`, calling `helpers` (name, arity).
struct Gen<'a> {
    rng: &'a mut Rng,
    helpers: &'a [(String, usize)],
    lets: usize,
}

impl Gen<'_> {
    fn expr(&mut self, names: &[String], depth: usize) -> String {
        if depth == 0 || self.rng.below(4) == 0 {
            return if !names.is_empty() && self.rng.below(3) > 0 {
                names[self.rng.below(names.len())].clone()
            } else {
                let value = self.rng.value();
                format!("0x{:X}", value as u64)
            };
        }
        match self.rng.below(9) {
            0..=3 => {
                const OPS: [&str; 16] = [
                    "+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>", "==", "<", ">=", "!=",
                    "&&", "||",
                ];
                let op = OPS[self.rng.below(OPS.len())];
                let lhs = self.expr(names, depth - 1);
                // Masks of a shift, as hash mixing writes them.
                if op == ">>" && self.rng.below(2) == 0 {
                    let k = self.rng.below(64);
                    let mask = (u64::MAX >> k) >> self.rng.below(3);
                    return format!("(({lhs} >> {k}) & 0x{mask:X})");
                }
                let rhs = self.expr(names, depth - 1);
                format!("({lhs} {op} {rhs})")
            }
            4 => {
                let cond = self.expr(names, depth - 1);
                let then = self.expr(names, depth - 1);
                let other = self.expr(names, depth - 1);
                format!("(if {cond} then {then} else {other})")
            }
            5 => {
                let value = self.expr(names, depth - 1);
                let name = format!("t{}", self.lets);
                self.lets += 1;
                let mut inner = names.to_vec();
                inner.push(name.clone());
                let body = self.expr(&inner, depth - 1);
                format!("(let {name} = {value} in {body})")
            }
            6 | 7 if !self.helpers.is_empty() => {
                let (helper, arity) = self.helpers[self.rng.below(self.helpers.len())].clone();
                let args: Vec<String> = (0..arity).map(|_| self.expr(names, depth - 1)).collect();
                format!("{helper}({})", args.join(", "))
            }
            _ => {
                let operand = self.expr(names, depth - 1);
                ["-", "~", "!"][self.rng.below(3)].to_owned() + &operand
            }
        }
    }
}

/// Random programs of small helpers (inlined, some with divisions that can
/// trap) and self tail loops of 1 to 11 parameters (with and without stack
/// arguments) that call the helpers and earlier loops, bounded by a
/// counter that drops every iteration.
#[test]
fn random_loops_agree_with_the_interpreter() {
    let programs: usize = common::env_count("EXPRJIT_LOOP_PROGRAMS", 300);
    let mut rng = Rng(0x1005_5EED_0000_0013);
    for _ in 0..programs {
        let mut source = String::new();
        let mut helpers: Vec<(String, usize)> = Vec::new();
        for index in 0..1 + rng.below(3) {
            let arity = 1 + rng.below(3);
            let names: Vec<String> = (0..arity).map(|p| format!("x{p}")).collect();
            let depth = 2 + rng.below(2);
            let body = Gen {
                rng: &mut rng,
                helpers: &helpers,
                lets: 0,
            }
            .expr(&names, depth);
            source.push_str(&format!("fn h{index}({}) = {body}\n", names.join(", ")));
            helpers.push((format!("h{index}"), arity));
        }
        let mut loops = Vec::new();
        for index in 0..1 + rng.below(3) {
            let arity = [1, 2, 3, 5, 6, 7, 8, 10, 11][rng.below(9)];
            let names: Vec<String> = (0..arity).map(|p| format!("p{p}")).collect();
            let mut generator = Gen {
                rng: &mut rng,
                helpers: &helpers,
                lets: 0,
            };
            let exit = generator.expr(&names, 3);
            // The counter is p0: it drops by 1 to 3 each iteration.
            let mut args = vec![format!("p0 - {}", 1 + generator.rng.below(3))];
            for _ in 1..arity {
                let arg = match generator.rng.below(4) {
                    // A permutation of the parameters.
                    0 => names[generator.rng.below(arity)].clone(),
                    _ => generator.expr(&names, 3),
                };
                args.push(arg);
            }
            // Sometimes an earlier loop runs inside, on a small count.
            if let Some((earlier, earlier_arity)) = loops.last().cloned()
                && generator.rng.below(2) == 0
            {
                let inner: Vec<String> = (0..earlier_arity)
                    .map(|i| {
                        if i == 0 {
                            "(p0 & 7)".to_owned()
                        } else {
                            names[i % arity].clone()
                        }
                    })
                    .collect();
                let slot = 1 + generator.rng.below(arity.max(2) - 1).min(arity - 1);
                if slot < arity {
                    args[slot] = format!("({} + {earlier}({}))", args[slot], inner.join(", "));
                }
            }
            source.push_str(&format!(
                "fn l{index}({}) = if p0 <= 0 then {exit} else l{index}({})\n",
                names.join(", "),
                args.join(", ")
            ));
            loops.push((format!("l{index}"), arity));
        }
        if std::env::var_os("EXPRJIT_LOOP_TRACE").is_some() {
            eprintln!("--- program\n{source}");
        }
        let mut calls = Vec::new();
        for (name, arity) in helpers.iter().chain(&loops) {
            for _ in 0..4 {
                let mut args: Vec<i64> = (0..*arity).map(|_| rng.value()).collect();
                if name.starts_with('l') {
                    args[0] = rng.below(30) as i64;
                }
                calls.push((name.as_str(), args));
            }
        }
        compare(&source, &calls);
    }
}
