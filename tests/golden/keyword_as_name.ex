fn if(x) = x
let then = 1 in then
