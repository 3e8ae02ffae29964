// JavaScript engines do not eliminate tail calls: the tail-recursive
// functions of the other versions are the loops they denote.
function steps(n, acc) { while (n !== 1) { n = n % 2 === 0 ? n / 2 : 3 * n + 1; acc++; } return acc; }
function total(i, limit, acc) { while (i <= limit) { acc += steps(i, 0); i++; } return acc; }
console.log(total(1, 1000000, 0));
