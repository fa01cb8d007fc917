"""faiss indexes filtered with per-query ID selectors, and post-filtering over faiss HNSW."""
