fn coin(k) = if k == 1 then 1 else if k == 2 then 5 else if k == 3 then 10 else if k == 4 then 25 else if k == 5 then 50 else 100
fn ways(amount, k) =
    if amount == 0 then 1
    else if amount < 0 || k == 0 then 0
    else ways(amount - coin(k), k) + ways(amount, k - 1)
ways(700, 6)
