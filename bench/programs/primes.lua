local function composite(n, d)
  if d * d > n then return 0 elseif n % d == 0 then return 1 else return composite(n, d + 2) end
end
local function count(n, limit, acc)
  if n > limit then return acc else return count(n + 2, limit, acc + 1 - composite(n, 3)) end
end
print(string.format("%d", count(3, 2000000, 1)))
