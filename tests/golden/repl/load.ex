:load examples/add.ex
add(40, 2)
:load examples/missing.ex
