# The first program from the design: a function of two parameters.
fn add(x, y) = x + y
add(2, 3)
add(-7, 7)
