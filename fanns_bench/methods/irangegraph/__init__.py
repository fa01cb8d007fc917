"""iRangeGraph (Xu et al., SIGMOD 2025) in fanns-bench's compiled core."""
