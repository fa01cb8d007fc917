"""SeRF (Zuo et al., SIGMOD 2024) in fanns-bench's own compiled core."""
