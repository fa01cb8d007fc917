"""Methods: the plugin protocol, the registry, and the built-in methods."""

from fanns_bench.methods.base import ANY_FILTER, FilterBatch, Method

__all__ = ["ANY_FILTER", "FilterBatch", "Method"]
