"""usearch index construction shared by the partitioned and post-filtering methods."""

from __future__ import annotations

from typing import Any

import numpy as np

METRICS = {"ip": "ip", "l2": "l2sq"}
ADD_CHUNK = 100_000


def new_index(metric: str, dimension: int, connectivity: int, expansion_add: int) -> Any:
    """An empty usearch HNSW index (float32 vectors, uint64 keys)."""
    from usearch.index import Index

    return Index(
        ndim=dimension,
        metric=METRICS[metric],
        dtype="f32",
        connectivity=connectivity,
        expansion_add=expansion_add,
    )


def add_rows(index: Any, vectors: np.ndarray, ids: np.ndarray, threads: int) -> None:
    """Add `vectors[ids]` under keys `ids`, reading the (memory-mapped) matrix in chunks."""
    for start in range(0, len(ids), ADD_CHUNK):
        keys = ids[start : start + ADD_CHUNK]
        if len(keys) and keys[-1] - keys[0] == len(keys) - 1:
            block = np.asarray(vectors[keys[0] : keys[-1] + 1], dtype=np.float32)
        else:
            block = np.asarray(vectors[keys], dtype=np.float32)
        index.add(keys.astype(np.uint64), block, threads=threads)


def as_batch(matches: Any, queries: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(keys, distances, counts) of a usearch result as 2-d arrays, one row per query.

    usearch returns `Matches` (no `counts`) instead of `BatchMatches` for one query.
    """
    keys = np.asarray(matches.keys, dtype=np.int64).reshape(queries, -1)
    distances = np.asarray(matches.distances).reshape(queries, -1)
    if hasattr(matches, "counts"):
        counts = np.asarray(matches.counts, dtype=np.int64).reshape(queries)
    else:
        counts = np.full(queries, len(matches), dtype=np.int64)
    return keys, distances, counts
