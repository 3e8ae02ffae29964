//! The workloads of the benchmarks, shared by the criterion benches (the
//! same programs as `bench/programs/*.ex`, which `bench/compare` runs; the
//! second set, from `queens` on, stresses loops, helpers and constants).

/// `source` compiled and loaded as the command line does it: the checked
/// program and its code.
pub fn compile_and_load(
    source: &str,
) -> (exprjit::ir::CheckedProgram, exprjit::jit::LoadedProgram) {
    let mut timings = exprjit::pipeline::Timings::default();
    let program = exprjit::pipeline::front_end(source, &mut timings).expect("valid");
    let loaded = exprjit::pipeline::back_end(&program, &mut timings).expect("loads");
    (program, loaded)
}

/// A generated program of `n` small functions, the same four shapes as
/// `bench/gen_program.py` writes (leaf arithmetic; a comparison chain
/// guarding a tail call; a `let` with a call, a division by a constant and a
/// call; a counted tail-recursive loop with `%`), calling earlier functions
/// chosen by a fixed pseudo-random sequence. No top-level expression.
pub fn generated_program(n: usize) -> String {
    let mut next = exprjit_testgen::xorshift(0x2545_F491_4F6C_DD1D);
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
pub const RUN_WORKLOADS: [(&str, &str, &str); 13] = [
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
    (
        "queens",
        "fn solve(cols, left, right, all) =\n\
             if cols == all then 1\n\
             else place(all & ~(cols | left | right), cols, left, right, all, 0)\n\
         fn place(free, cols, left, right, all, acc) =\n\
             if free == 0 then acc\n\
             else let bit = free & -free in\n\
                 place(free - bit, cols, left, right, all,\n\
                       acc + solve(cols | bit, (left | bit) << 1, (right | bit) >> 1, all))\n",
        "solve(0, 0, 0, (1 << 14) - 1)|solve(0, 0, 0, (1 << 9) - 1)",
    ),
    (
        "mandel",
        "fn escape(zr, zi, cr, ci, k) =\n\
             let zr2 = (zr * zr) >> 16 in\n\
             let zi2 = (zi * zi) >> 16 in\n\
             if k == 0 || zr2 + zi2 > 262144 then k\n\
             else escape(zr2 - zi2 + cr, ((zr * zi) >> 15) + ci, cr, ci, k - 1)\n\
         fn row(x, ci, size, acc) =\n\
             if x == size then acc\n\
             else row(x + 1, ci, size, acc + escape(0, 0, x * 196608 / size - 163840, ci, 255))\n\
         fn grid(y, size, acc) =\n\
             if y == size then acc\n\
             else grid(y + 1, size, row(0, y * 196608 / size - 98304, size, acc))\n",
        "grid(0, 1400, 0)|grid(0, 100, 0)",
    ),
    (
        "primes",
        "fn composite(n, d) =\n\
             if d * d > n then 0\n\
             else if n % d == 0 then 1\n\
             else composite(n, d + 2)\n\
         fn count(n, limit, acc) =\n\
             if n > limit then acc\n\
             else count(n + 2, limit, acc + 1 - composite(n, 3))\n",
        "count(3, 2000000, 1)|count(3, 50000, 1)",
    ),
    (
        "splitmix",
        "fn mix(z) =\n\
             let a = (z ^ ((z >> 30) & 0x3FFFFFFFF)) * 0xBF58476D1CE4E5B9 in\n\
             let b = (a ^ ((a >> 27) & 0x1FFFFFFFFF)) * 0x94D049BB133111EB in\n\
             b ^ ((b >> 31) & 0x1FFFFFFFF)\n\
         fn stream(i, end, acc) =\n\
             if i == end then acc\n\
             else stream(i + 1, end, acc + ((mix(i * 0x9E3779B97F4A7C15) >> 56) & 255))\n\
         fn blocks(i, n, acc) = if i >= n then acc else blocks(i + 1000, n, stream(i, i + 1000, acc))\n",
        "blocks(0, 100000000, 0)|blocks(0, 1000000, 0)",
    ),
    (
        "lagged",
        "fn lagged(n, a, b, c, d, e, f, g, h, s) =\n\
             if n == 0 then a ^ b ^ c ^ d ^ e ^ f ^ g ^ h ^ s\n\
             else lagged(n - 1, b, c, d, e, f, g, h, ((a + d * 3) ^ (g >> 2)) & 0xFFFFFFF, s + (h & 15))\n\
         fn rounds(r, acc) =\n\
             if r == 0 then acc\n\
             else rounds(r - 1, acc + lagged(1000, r, r + 1, r * 3, acc & 255, 5, 6, 7, 8, 0))\n",
        "rounds(120000, 0)|rounds(2000, 0)",
    ),
    (
        "kadane",
        "fn max(a, b) = if a > b then a else b\n\
         fn next(x) = (x * 69069 + 12345) & 0xFFFFFFFF\n\
         fn value(x) = (x >> 8) % 2001 - 1000\n\
         fn kadane(i, n, x, cur, best) =\n\
             if i == n then best\n\
             else let v = value(x) in\n\
                 let c = max(v, cur + v) in\n\
                 kadane(i + 1, n, next(x), c, max(best, c))\n\
         fn rounds(r, acc) = if r == 0 then acc else rounds(r - 1, acc + kadane(0, 2000, r, 0, 0))\n",
        "rounds(20000, 0)|rounds(300, 0)",
    ),
    (
        "coins",
        "fn coin(k) = if k == 1 then 1 else if k == 2 then 5 else if k == 3 then 10 else if k == 4 then 25 else if k == 5 then 50 else 100\n\
         fn ways(amount, k) =\n\
             if amount == 0 then 1\n\
             else if amount < 0 || k == 0 then 0\n\
             else ways(amount - coin(k), k) + ways(amount, k - 1)\n",
        "ways(700, 6)|ways(200, 6)",
    ),
];

/// `count` pseudo-random argument pairs (xorshift64), in ±1,000,000: small
/// enough that no benchmarked formula overflows (evalexpr reports overflow
/// as an error).
pub fn argument_pairs(count: usize) -> Vec<(i64, i64)> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % 2_000_001) as i64 - 1_000_000
    };
    (0..count).map(|_| (next(), next())).collect()
}
