fn mix(z) =
    let a = (z ^ ((z >> 30) & 0x3FFFFFFFF)) * 0xBF58476D1CE4E5B9 in
    let b = (a ^ ((a >> 27) & 0x1FFFFFFFFF)) * 0x94D049BB133111EB in
    b ^ ((b >> 31) & 0x1FFFFFFFF)
fn stream(i, end, acc) =
    if i == end then acc
    else stream(i + 1, end, acc + ((mix(i * 0x9E3779B97F4A7C15) >> 56) & 255))
fn blocks(i, n, acc) = if i >= n then acc else blocks(i + 1000, n, stream(i, i + 1000, acc))
blocks(0, 100000000, 0)
