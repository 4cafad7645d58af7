"""Documents: what the materials look like, below the areas that show or store them."""
