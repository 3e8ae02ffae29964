//! The workloads of the benchmarks, shared by the criterion benches (the
//! same programs as `bench/programs/*.ex`, which `bench/compare` runs).

/// A generated program of `n` small functions, the same four shapes as
/// `bench/gen_program.py` writes (leaf arithmetic; a comparison chain
/// guarding a tail call; a `let` with a call, a division by a constant and a
/// call; a counted tail-recursive loop with `%`), calling earlier functions
/// chosen by a fixed pseudo-random sequence. No top-level expression.
pub fn generated_program(n: usize) -> String {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move |bound: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % bound as u64) as usize
    };
    let mut out = String::with_capacity(n * 72);
    for i in 0..n {
        let k = 1 + next(99);
        let m = 2 + next(49);
        let (j, j2) = if i > 0 { (next(i), next(i)) } else { (0, 0) };
        let shape = if i == 0 { 0 } else { i % 4 };
        let line = match shape {
            0 => format!("fn f{i}(a, b) = a * {k} + (b - {m}) * (a ^ b)\n"),
            1 => format!(
                "fn f{i}(a, b) = if a < b && b != {k} then f{j}(a + {k}, b) else (a ^ b) % {m}\n"
            ),
            2 => format!(
                "fn f{i}(a, b) = let t = f{j}(a, b - {k}) in if t > {m} then t / {m} else f{j2}(t, a) * 2\n"
            ),
            _ => format!("fn f{i}(a, b) = if a == 0 then b else f{j}(a - 1, b + a % {m} + {k})\n"),
        };
        out.push_str(&line);
    }
    out
}

/// The run-time workloads: name, program, and a smaller size of the same
/// program for the reference interpreter (which is some 20 to 50 times
/// slower, so the full sizes would take minutes per sample).
pub const RUN_WORKLOADS: [(&str, &str, &str); 6] = [
    (
        "fib",
        "fn fib(n) = if n < 2 then n else fib(n - 1) + fib(n - 2)\n",
        "fib(35)|fib(24)",
    ),
    (
        "ack",
        "fn ack(m, n) = if m == 0 then n + 1 else if n == 0 then ack(m - 1, 1) else ack(m - 1, ack(m, n - 1))\n",
        "ack(3, 10)|ack(2, 300)",
    ),
    (
        "tak",
        "fn tak(x, y, z) = if y < x then tak(tak(x - 1, y, z), tak(y - 1, z, x), tak(z - 1, x, y)) else z\n",
        "tak(32, 20, 10)|tak(18, 12, 6)",
    ),
    (
        "collatz",
        "fn steps(n, acc) = if n == 1 then acc else steps(if n % 2 == 0 then n / 2 else 3 * n + 1, acc + 1)\n\
         fn total(i, limit, acc) = if i > limit then acc else total(i + 1, limit, acc + steps(i, 0))\n",
        "total(1, 1000000, 0)|total(1, 10000, 0)",
    ),
    (
        "gcd_grid",
        "fn gcd(a, b) = if b == 0 then a else gcd(b, a % b)\n\
         fn row(a, b, n, acc) = if b > n then acc else row(a, b + 1, n, acc + gcd(a, b))\n\
         fn grid(a, n, acc) = if a > n then acc else grid(a + 1, n, row(a, 1, n, acc))\n",
        "grid(1, 4000, 0)|grid(1, 300, 0)",
    ),
    (
        "digit_sum",
        "fn digits(x, acc) = if x == 0 then acc else digits(x / 10, acc + x % 10)\n\
         fn row(a, b, n, acc) = if b > n then acc else row(a, b + 1, n, acc + digits(a * b, 0))\n\
         fn grid(a, n, acc) = if a > n then acc else grid(a + 1, n, row(a, 1, n, acc))\n",
        "grid(1, 7000, 0)|grid(1, 300, 0)",
    ),
];
