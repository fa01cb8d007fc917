"""ACORN-γ and ACORN-1 on fanns-bench's compiled core (`fanns_bench._core`)."""
