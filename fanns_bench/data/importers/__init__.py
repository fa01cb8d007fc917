"""Importers for other public filtered-search formats (qdrant, big-ann-benchmarks) and the
binary vector formats they and the published arXiv set use."""
