-- LuaJIT numbers are doubles; every product here stays below 2^53.
local floor = math.floor
local function max(a, b) if a > b then return a else return b end end
local function next(x) return (x * 69069 + 12345) % 4294967296 end
local function value(x) return floor(x / 256) % 2001 - 1000 end
local function kadane(i, n, x, cur, best)
  if i == n then return best end
  local v = value(x)
  local c = max(v, cur + v)
  return kadane(i + 1, n, next(x), c, max(best, c))
end
local function rounds(r, acc)
  if r == 0 then return acc else return rounds(r - 1, acc + kadane(0, 2000, r, 0, 0)) end
end
print(string.format("%d", rounds(20000, 0)))
