// Tail calls written as the loops they denote (no tail-call elimination).
function max(a, b) { return a > b ? a : b; }
function next(x) { return (x * 69069 + 12345) % 4294967296; }
function value(x) { return Math.floor(x / 256) % 2001 - 1000; }
function kadane(i, n, x, cur, best) {
  for (; i !== n; i++) {
    const v = value(x);
    const c = max(v, cur + v);
    x = next(x); cur = c; best = max(best, c);
  }
  return best;
}
function rounds(r, acc) {
  for (; r !== 0; r--) acc += kadane(0, 2000, r, 0, 0);
  return acc;
}
console.log(rounds(20000, 0));
