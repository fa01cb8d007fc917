"""hnswlib's own filtered search: `knn_query(..., filter=callable)` on one HNSW graph."""

from __future__ import annotations

from typing import Any

import numpy as np

from fanns_bench.data.dataset import Dataset
from fanns_bench.methods.base import ANY_FILTER, FilterBatch, Method, pad_results
from fanns_bench.methods.common.membership import membership_test

SPACES = {"ip": "ip", "l2": "l2"}
ADD_CHUNK = 100_000


class HnswlibFilter(Method):
    """HNSW (hnswlib) searched with a per-query Python filter callback.

    Build params: `M` (graph degree), `ef_construction`. Search params: `ef`.
    The callback holds the GIL, so filtered queries run on one thread (several threads
    make it 8-15x slower); the build and unfiltered queries use `threads`.
    """

    name = "hnswlib"
    capabilities = ANY_FILTER
    requires = ("hnswlib",)
    threading = "single"
    description = (
        "hnswlib HNSW, knn_query(filter=callable): filtered search single-threaded "
        "(the Python callback holds the GIL)"
    )

    def __init__(self, metric: str, threads: int = 1, M: int = 32, ef_construction: int = 100) -> None:
        super().__init__(metric, threads, M=M, ef_construction=ef_construction)
        self.M = M
        self.ef_construction = ef_construction
        self._index: Any = None

    def build(self, dataset: Dataset) -> None:
        import hnswlib

        count, dimension = dataset.count, dataset.dimension
        self._dimension, self._count = dimension, count
        self._index = hnswlib.Index(space=SPACES[self.metric], dim=dimension)
        self._index.init_index(
            max_elements=count, M=self.M, ef_construction=self.ef_construction, random_seed=0
        )
        for start in range(0, count, ADD_CHUNK):
            block = np.asarray(dataset.vectors[start : start + ADD_CHUNK], dtype=np.float32)
            labels = np.arange(start, start + len(block), dtype=np.int64)
            self._index.add_items(block, labels, num_threads=self.threads)

    def search(self, queries: np.ndarray, filters: FilterBatch, k: int, ef: int = 64) -> np.ndarray:
        self._index.set_ef(max(ef, k))
        out = np.full((len(queries), k), -1, dtype=np.int64)
        for predicate, rows in _group_by_predicate(filters.predicates).items():
            ids = filters.match_ids[rows[0]]
            if predicate is None:
                out[rows] = self._knn(queries[rows], k, None, self.threads)
            elif len(ids):
                test = membership_test(ids, filters.num_items)
                out[rows] = self._knn(queries[rows], min(k, len(ids)), test, 1, k)
        return out

    def _knn(self, block: np.ndarray, k: int, test: Any, threads: int, width: int = 0) -> np.ndarray:
        """Labels of `block`'s k nearest allowed items, padded to `width` columns."""
        width = width or k
        try:
            labels, _ = self._index.knn_query(block, k=k, num_threads=threads, filter=test)
            return pad_results(list(labels), width)
        except RuntimeError:  # fewer than k reachable: hnswlib refuses a ragged batch
            return pad_results([self._knn_one(q, k, test) for q in block], width)

    def _knn_one(self, query: np.ndarray, k: int, test: Any) -> np.ndarray:
        while k > 0:
            try:
                labels, _ = self._index.knn_query(query, k=k, num_threads=1, filter=test)
                return labels[0]
            except RuntimeError:
                k //= 2
        return np.empty(0, dtype=np.int64)

    def memory_bytes(self) -> int:
        """hnswlib's allocation: level-0 block (links, vector, label) plus upper levels.

        Upper levels hold on average 1/(M-1) of the items' link lists (level
        multiplier 1/ln M); hnswlib does not report its size itself.
        """
        if self._index is None:
            return 0
        level0 = self._count * ((2 * self.M + 1) * 4 + self._dimension * 4 + 8)
        upper = self._count / max(self.M - 1, 1) * ((self.M + 1) * 4)
        return int(level0 + upper)

    def stats(self) -> dict[str, float]:
        return {"filtered_search_threads": 1.0}


def _group_by_predicate(predicates: list) -> dict[Any, list[int]]:
    """Query rows sharing one predicate, so each group is one library call."""
    groups: dict[Any, list[int]] = {}
    for row, predicate in enumerate(predicates):
        groups.setdefault(predicate, []).append(row)
    return groups
