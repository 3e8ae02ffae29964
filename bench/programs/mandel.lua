-- LuaJIT numbers are doubles: an arithmetic shift right by k is floor(x / 2^k),
-- and integer division of non-negative values is floor(a / b).
local floor = math.floor
local function escape(zr, zi, cr, ci, k)
  local zr2 = floor(zr * zr / 65536)
  local zi2 = floor(zi * zi / 65536)
  if k == 0 or zr2 + zi2 > 262144 then return k end
  return escape(zr2 - zi2 + cr, floor(zr * zi / 32768) + ci, cr, ci, k - 1)
end
local function row(x, ci, size, acc)
  if x == size then return acc end
  return row(x + 1, ci, size, acc + escape(0, 0, floor(x * 196608 / size) - 163840, ci, 255))
end
local function grid(y, size, acc)
  if y == size then return acc end
  return grid(y + 1, size, row(0, floor(y * 196608 / size) - 98304, size, acc))
end
print(string.format("%d", grid(0, 1400, 0)))
