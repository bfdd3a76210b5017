"""One module per page: sign-in, worklist, claim, check, dashboard, model."""
