"""The web base: the plumbing every area with pages shares (Indico's indico/web is the model)."""
