local band, bor, bnot, lshift, arshift = bit.band, bit.bor, bit.bnot, bit.lshift, bit.arshift
local place
local function solve(cols, left, right, all)
  if cols == all then return 1 end
  return place(band(all, bnot(bor(cols, left, right))), cols, left, right, all, 0)
end
function place(free, cols, left, right, all, acc)
  if free == 0 then return acc end
  local b = band(free, -free)
  return place(free - b, cols, left, right, all,
               acc + solve(bor(cols, b), lshift(bor(left, b), 1), arshift(bor(right, b), 1), all))
end
print(string.format("%d", solve(0, 0, 0, 2 ^ 14 - 1)))
