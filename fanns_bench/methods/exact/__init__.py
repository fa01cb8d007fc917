"""Exact pre-filtering: the brute-force baseline."""
