// Tail calls written as the loops they denote (no tail-call elimination).
function solve(cols, left, right, all) {
  return cols === all ? 1 : place(all & ~(cols | left | right), cols, left, right, all, 0);
}
function place(free, cols, left, right, all, acc) {
  while (free !== 0) {
    const bit = free & -free;
    acc += solve(cols | bit, (left | bit) << 1, (right | bit) >> 1, all);
    free -= bit;
  }
  return acc;
}
console.log(solve(0, 0, 0, (1 << 14) - 1));
