fn solve(cols, left, right, all) =
    if cols == all then 1
    else place(all & ~(cols | left | right), cols, left, right, all, 0)
fn place(free, cols, left, right, all, acc) =
    if free == 0 then acc
    else let bit = free & -free in
        place(free - bit, cols, left, right, all,
              acc + solve(cols | bit, (left | bit) << 1, (right | bit) >> 1, all))
solve(0, 0, 0, (1 << 14) - 1)
