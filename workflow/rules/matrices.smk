# matrices and split rules
