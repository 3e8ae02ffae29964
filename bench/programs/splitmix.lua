-- 64-bit arithmetic as LuaJIT's unsigned 64-bit integers (ULL cdata), which
-- wrap; a logical shift right equals exprjit's arithmetic shift and mask.
local bxor, band, rshift = bit.bxor, bit.band, bit.rshift
local function mix(z)
  local a = bxor(z, rshift(z, 30)) * 0xBF58476D1CE4E5B9ULL
  local b = bxor(a, rshift(a, 27)) * 0x94D049BB133111EBULL
  return bxor(b, rshift(b, 31))
end
local function stream(i, e, acc)
  if i == e then return acc end
  return stream(i + 1, e, acc + tonumber(band(rshift(mix(i * 0x9E3779B97F4A7C15ULL), 56), 255ULL)))
end
local function blocks(i, n, acc)
  if i >= n then return acc end
  return blocks(i + 1000, n, stream(0ULL + i, 0ULL + i + 1000, acc))
end
print(string.format("%d", blocks(0, 100000000, 0)))
