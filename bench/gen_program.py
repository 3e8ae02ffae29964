#!/usr/bin/env python3
"""Writes the same program of N small functions as exprjit source and as C.

Usage: gen_program.py N OUT.ex OUT.c

The functions mix leaf arithmetic, comparisons feeding branches, `let`,
division by constants and calls (including tail calls) to earlier
functions, so that compile-throughput and code-size measurements see a
realistic spread. There is no top-level expression: running the .ex file
compiles and loads it without running anything.
"""
import random
import sys


def main():
    n, ex_path, c_path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    rng = random.Random(5)
    ex, c = [], ["typedef long long i64;"]
    for i in range(n):
        k, m = rng.randint(1, 99), rng.randint(2, 50)
        j, j2 = (rng.randrange(i), rng.randrange(i)) if i else (None, None)
        shape = i % 4 if i else 0
        if shape == 0:
            ex.append(f"fn f{i}(a, b) = a * {k} + (b - {m}) * (a ^ b)")
            c.append(f"i64 f{i}(i64 a, i64 b) {{ return a * {k} + (b - {m}) * (a ^ b); }}")
        elif shape == 1:
            ex.append(f"fn f{i}(a, b) = if a < b && b != {k} then f{j}(a + {k}, b) else (a ^ b) % {m}")
            c.append(f"i64 f{i}(i64 a, i64 b) {{ return a < b && b != {k} ? f{j}(a + {k}, b) : (a ^ b) % {m}; }}")
        elif shape == 2:
            ex.append(f"fn f{i}(a, b) = let t = f{j}(a, b - {k}) in if t > {m} then t / {m} else f{j2}(t, a) * 2")
            c.append(f"i64 f{i}(i64 a, i64 b) {{ i64 t = f{j}(a, b - {k}); return t > {m} ? t / {m} : f{j2}(t, a) * 2; }}")
        else:
            ex.append(f"fn f{i}(a, b) = if a == 0 then b else f{j}(a - 1, b + a % {m} + {k})")
            c.append(f"i64 f{i}(i64 a, i64 b) {{ return a == 0 ? b : f{j}(a - 1, b + a % {m} + {k}); }}")
    with open(ex_path, "w") as f:
        f.write("\n".join(ex) + "\n")
    with open(c_path, "w") as f:
        f.write("\n".join(c) + "\n")


if __name__ == "__main__":
    main()
