"""LanceDB: vector index with scalar indexes, searched with an SQL filter and `prefilter=True`."""
