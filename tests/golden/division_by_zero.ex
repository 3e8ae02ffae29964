# values printed before the error stay on stdout; the error names the operator
fn safe(a, b) = if b == 0 then 0 else a / b
fn average(total, count) = total / count
safe(10, 0)
average(10, 2)
average(10, 0)
1 + 1
