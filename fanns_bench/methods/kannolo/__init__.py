"""kannolo (Rust, PyO3): ACORN-1 and ACORN-γ filtered search over its HNSW graph."""
