// Tail calls written as the loops they denote (no tail-call elimination).
function digits(x, acc) { while (x !== 0) { acc += x % 10; x = Math.trunc(x / 10); } return acc; }
function row(a, b, n, acc) { while (b <= n) { acc += digits(a * b, 0); b++; } return acc; }
function grid(a, n, acc) { while (a <= n) { acc = row(a, 1, n, acc); a++; } return acc; }
console.log(grid(1, 7000, 0));
