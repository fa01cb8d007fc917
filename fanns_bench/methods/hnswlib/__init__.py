"""hnswlib HNSW with its `filter=` callback (filtered graph search in the library)."""
