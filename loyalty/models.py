"""Models of loyalty: built by its own issue on the shared core."""
