local function gcd(a, b) if b == 0 then return a else return gcd(b, a % b) end end
local function row(a, b, n, acc) if b > n then return acc else return row(a, b + 1, n, acc + gcd(a, b)) end end
local function grid(a, n, acc) if a > n then return acc else return grid(a + 1, n, row(a, 1, n, acc)) end end
print(string.format("%d", grid(1, 4000, 0)))
