local function coin(k)
  if k == 1 then return 1 elseif k == 2 then return 5 elseif k == 3 then return 10
  elseif k == 4 then return 25 elseif k == 5 then return 50 else return 100 end
end
local function ways(amount, k)
  if amount == 0 then return 1 elseif amount < 0 or k == 0 then return 0 end
  return ways(amount - coin(k), k) + ways(amount, k - 1)
end
print(string.format("%d", ways(700, 6)))
