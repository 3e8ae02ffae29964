# misspelt names get the nearest defined name as a suggestion
fn area(width, height) = widht * height
fn square(side) = area(side, side)
fn cube(side) = sqaure(side) * side
fn volume(x) = let depth = x in x * dpth
# too far from every name: no suggestion
fn g(x) = zzz(x) + q
