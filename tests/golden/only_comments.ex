# nothing but comments

    # indented comment
