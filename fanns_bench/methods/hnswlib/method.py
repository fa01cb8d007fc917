"""hnswlib's own filtered search: `knn_query(..., filter=callable)` on one HNSW graph."""

from __future__ import annotations

from typing import Any

import numpy as np

from fanns_bench.data.dataset import Dataset
from fanns_bench.methods.base import ANY_FILTER, FilterBatch, Method, pad_results
from fanns_bench.methods.common.membership import MembershipTests, membership_tests
from fanns_bench.methods.params import Param

SPACES = {"ip": "ip", "l2": "l2"}
ADD_CHUNK = 100_000


class HnswlibFilter(Method):
    """HNSW (hnswlib) searched with a per-query Python filter callback.

    The callback holds the GIL, so filtered queries run on one thread (several threads
    make it 8-15x slower); the build and unfiltered queries use `threads`.
    """

    name = "hnswlib"
    deterministic_build = "one_thread"
    nondeterminism = (
        "hnswlib's parallel add_items inserts in thread-scheduling order; level assignment is seeded (`seed`)"
    )
    capabilities = ANY_FILTER
    requires = ("hnswlib",)
    threading = "single"
    description = (
        "hnswlib HNSW, knn_query(filter=callable): filtered search single-threaded "
        "(the Python callback holds the GIL)"
    )

    build_parameters = {
        "M": Param(int, 32, "graph degree (level 0 holds 2M links)", minimum=2),
        "ef_construction": Param(int, 100, "candidate list size while inserting", minimum=1),
        "seed": Param(int, 0, "random seed of the level assignment"),
    }
    search_parameters = {"ef": Param(int, 64, "candidate list size (raised to k when smaller)", minimum=1)}

    def __init__(self, metric: str, threads: int = 1, **build_params: Any) -> None:
        super().__init__(metric, threads, **build_params)
        self.M = self.build_params["M"]
        self._index: Any = None

    def build(self, dataset: Dataset) -> None:
        import hnswlib

        count, dimension = dataset.count, dataset.dimension
        self._dimension, self._count = dimension, count
        self._index = hnswlib.Index(space=SPACES[self.metric], dim=dimension)
        self._index.init_index(
            max_elements=count,
            M=self.M,
            ef_construction=self.build_params["ef_construction"],
            random_seed=self.build_params["seed"],
        )
        for start in range(0, count, ADD_CHUNK):
            block = np.asarray(dataset.vectors[start : start + ADD_CHUNK], dtype=np.float32)
            labels = np.arange(start, start + len(block), dtype=np.int64)
            self._index.add_items(block, labels, num_threads=self.threads)

    def prepare_filters(self, filters: FilterBatch) -> MembershipTests:
        return membership_tests(filters)

    def search(self, queries: np.ndarray, filters: MembershipTests, k: int, ef: int) -> np.ndarray:
        self._index.set_ef(max(ef, k))
        out = np.full((len(queries), k), -1, dtype=np.int64)
        for set_index, rows in filters.sets.queries_by_set().items():
            if set_index < 0:
                out[rows] = self._knn(queries[rows], k, None, self.threads)
            elif filters.sizes[set_index]:
                test = filters.tests[set_index]
                out[rows] = self._knn(queries[rows], min(k, filters.sizes[set_index]), test, 1, k)
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
