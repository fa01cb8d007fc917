"""Shared pieces of the faiss methods: metric mapping, threads, index size."""

from __future__ import annotations

from typing import Any

import numpy as np

from fanns_bench.errors import MethodError


def faiss_metric(metric: str) -> Any:
    import faiss

    if metric == "ip":
        return faiss.METRIC_INNER_PRODUCT
    if metric == "l2":
        return faiss.METRIC_L2
    raise MethodError(f"faiss methods support metrics ip and l2, not {metric!r}")


def set_threads(threads: int) -> None:
    import faiss

    faiss.omp_set_num_threads(max(1, int(threads)))


def index_bytes(index: Any) -> int:
    """Size of the serialised index (what faiss would write to disk)."""
    import faiss

    return int(faiss.serialize_index(index).nbytes)


def as_float32(matrix: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(matrix, dtype=np.float32)


def selector_search(index: Any, queries: np.ndarray, filters: Any, k: int, make_params: Any) -> np.ndarray:
    """Search query by query, each with an `IDSelectorBitmap` of its own matches.

    faiss applies one selector to a whole batch, so queries sharing a predicate are
    grouped into one call; the rest go one by one.
    """
    import faiss

    out = np.full((len(queries), k), -1, dtype=np.int64)
    groups: dict[int, list[int]] = {}
    for i, ids in enumerate(filters.match_ids):
        groups.setdefault(id(ids), []).append(i)
    for rows in groups.values():
        bitmap = filters.bitmap(rows[0])
        selector = faiss.IDSelectorBitmap(filters.num_items, faiss.swig_ptr(bitmap))
        _, found = index.search(queries[rows], k, params=make_params(selector))
        out[rows] = found
    return out
