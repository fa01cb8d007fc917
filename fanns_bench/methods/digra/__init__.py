"""DIGRA-style range search (after Jiang et al., SIGMOD 2025) in fanns-bench's compiled core."""
