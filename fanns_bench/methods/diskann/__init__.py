"""Filtered-DiskANN through diskannpy, run in its own environment."""
