"""The HTTP routes, one module per area: they validate, call the scoring path, shape."""
