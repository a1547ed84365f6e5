"""Models of returns: built by its own issue on the shared core."""
