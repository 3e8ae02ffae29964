function coin(k) { return k === 1 ? 1 : k === 2 ? 5 : k === 3 ? 10 : k === 4 ? 25 : k === 5 ? 50 : 100; }
function ways(amount, k) {
  return amount === 0 ? 1 : amount < 0 || k === 0 ? 0 : ways(amount - coin(k), k) + ways(amount, k - 1);
}
console.log(ways(700, 6));
