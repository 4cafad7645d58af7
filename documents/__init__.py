"""Documents: the materials applicants upload (checking, storage, the ones in force), what they
look like (the drawn stand-ins), and the regions of their addresses; below the areas that show
or take them."""
