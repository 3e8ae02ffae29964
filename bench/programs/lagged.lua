local band, bxor, arshift = bit.band, bit.bxor, bit.arshift
local function lagged(n, a, b, c, d, e, f, g, h, s)
  if n == 0 then return bxor(a, b, c, d, e, f, g, h, s) end
  return lagged(n - 1, b, c, d, e, f, g, h, band(bxor(a + d * 3, arshift(g, 2)), 0xFFFFFFF), s + band(h, 15))
end
local function rounds(r, acc)
  if r == 0 then return acc end
  return rounds(r - 1, acc + lagged(1000, r, r + 1, r * 3, band(acc, 255), 5, 6, 7, 8, 0))
end
print(string.format("%d", rounds(120000, 0)))
