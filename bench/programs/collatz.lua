local function steps(n, acc)
  if n == 1 then return acc end
  local nxt
  if n % 2 == 0 then nxt = n / 2 else nxt = 3 * n + 1 end
  return steps(nxt, acc + 1)
end
local function total(i, limit, acc)
  if i > limit then return acc else return total(i + 1, limit, acc + steps(i, 0)) end
end
print(string.format("%d", total(1, 1000000, 0)))
