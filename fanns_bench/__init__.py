"""fanns-bench: a benchmark harness for filtered approximate nearest neighbour search."""

__version__ = "0.1.0"
