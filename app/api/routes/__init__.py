"""The HTTP routers, one per resource; each is thin and calls the feature packages."""
