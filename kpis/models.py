"""Models of kpis: built by its own issue on the shared core."""
