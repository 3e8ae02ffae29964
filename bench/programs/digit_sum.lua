-- LuaJIT numbers are doubles: truncating division is math.floor for x >= 0.
local floor = math.floor
local function digits(x, acc) if x == 0 then return acc else return digits(floor(x / 10), acc + x % 10) end end
local function row(a, b, n, acc) if b > n then return acc else return row(a, b + 1, n, acc + digits(a * b, 0)) end end
local function grid(a, n, acc) if a > n then return acc else return grid(a + 1, n, row(a, 1, n, acc)) end end
print(string.format("%d", grid(1, 7000, 0)))
