# a constant zero divisor is still a runtime error, reported when it runs
1
5 / 0
