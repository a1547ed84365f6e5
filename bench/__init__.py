"""Omni's benchmarks: each figure measured against its floor in the same run (`make bench`)."""
