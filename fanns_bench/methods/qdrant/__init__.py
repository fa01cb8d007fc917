"""Qdrant (the engine in-process through qdrant-edge-py): filterable HNSW and ACORN."""
