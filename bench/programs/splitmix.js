// Tail calls written as the loops they denote (no tail-call elimination).
// 64-bit wrapping arithmetic with BigInt; a logical shift right equals
// exprjit's arithmetic shift and mask.
const M = (1n << 64n) - 1n;
function mix(z) {
  const a = ((z ^ (z >> 30n)) * 0xBF58476D1CE4E5B9n) & M;
  const b = ((a ^ (a >> 27n)) * 0x94D049BB133111EBn) & M;
  return b ^ (b >> 31n);
}
function stream(i, end, acc) {
  for (; i !== end; i++) acc += Number((mix((BigInt(i) * 0x9E3779B97F4A7C15n) & M) >> 56n) & 255n);
  return acc;
}
function blocks(i, n, acc) {
  for (; i < n; i += 1000) acc = stream(i, i + 1000, acc);
  return acc;
}
console.log(blocks(0, 100000000, 0));
