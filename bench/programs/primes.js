// Tail calls written as the loops they denote (no tail-call elimination).
function composite(n, d) {
  for (;; d += 2) { if (d * d > n) return 0; if (n % d === 0) return 1; }
}
function count(n, limit, acc) {
  for (; n <= limit; n += 2) acc += 1 - composite(n, 3);
  return acc;
}
console.log(count(3, 2000000, 1));
