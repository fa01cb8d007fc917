"""DSG (Peng et al., VLDB 2025) in fanns-bench's own compiled core."""
