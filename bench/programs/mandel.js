// Tail calls written as the loops they denote (no tail-call elimination).
// Doubles: an arithmetic shift right by k is floor(x / 2^k) (the products
// exceed 32 bits, so JavaScript's `>>` cannot be used).
function escape(zr, zi, cr, ci, k) {
  for (;;) {
    const zr2 = Math.floor(zr * zr / 65536), zi2 = Math.floor(zi * zi / 65536);
    if (k === 0 || zr2 + zi2 > 262144) return k;
    const nzi = Math.floor(zr * zi / 32768) + ci;
    zr = zr2 - zi2 + cr; zi = nzi; k--;
  }
}
function row(x, ci, size, acc) {
  for (; x !== size; x++) acc += escape(0, 0, Math.floor(x * 196608 / size) - 163840, ci, 255);
  return acc;
}
function grid(y, size, acc) {
  for (; y !== size; y++) acc = row(0, Math.floor(y * 196608 / size) - 98304, size, acc);
  return acc;
}
console.log(grid(0, 1400, 0));
