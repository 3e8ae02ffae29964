fn escape(zr, zi, cr, ci, k) =
    let zr2 = (zr * zr) >> 16 in
    let zi2 = (zi * zi) >> 16 in
    if k == 0 || zr2 + zi2 > 262144 then k
    else escape(zr2 - zi2 + cr, ((zr * zi) >> 15) + ci, cr, ci, k - 1)
fn row(x, ci, size, acc) =
    if x == size then acc
    else row(x + 1, ci, size, acc + escape(0, 0, x * 196608 / size - 163840, ci, 255))
fn grid(y, size, acc) =
    if y == size then acc
    else grid(y + 1, size, row(0, y * 196608 / size - 98304, size, acc))
grid(0, 1400, 0)
