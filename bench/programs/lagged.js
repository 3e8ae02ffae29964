// Tail calls written as the loops they denote (no tail-call elimination).
function lagged(n, a, b, c, d, e, f, g, h, s) {
  for (; n !== 0; n--) {
    const next = ((a + d * 3) ^ (g >> 2)) & 0xFFFFFFF;
    s += h & 15;
    a = b; b = c; c = d; d = e; e = f; f = g; g = h; h = next;
  }
  return a ^ b ^ c ^ d ^ e ^ f ^ g ^ h ^ s;
}
function rounds(r, acc) {
  for (; r !== 0; r--) acc += lagged(1000, r, r + 1, r * 3, acc % 256, 5, 6, 7, 8, 0);
  return acc;
}
console.log(rounds(120000, 0));
