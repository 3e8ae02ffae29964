// Tail calls written as the loops they denote (no tail-call elimination).
function gcd(a, b) { while (b !== 0) { const t = a % b; a = b; b = t; } return a; }
function row(a, b, n, acc) { while (b <= n) { acc += gcd(a, b); b++; } return acc; }
function grid(a, n, acc) { while (a <= n) { acc = row(a, 1, n, acc); a++; } return acc; }
console.log(grid(1, 4000, 0));
