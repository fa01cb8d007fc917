"""usearch HNSW with post-filtering, the way usearch users filter (its Python API takes no
predicate): candidates fetched unfiltered, kept when they match, by the shared post-filter
rounds (fanns_bench/methods/common/postfilter.py); never told the selectivity."""

from __future__ import annotations

from typing import Any

import numpy as np

from fanns_bench.data.dataset import Dataset
from fanns_bench.methods.base import ANY_FILTER, FilterBatch, Method
from fanns_bench.methods.common.id_sets import IdSets, id_sets
from fanns_bench.methods.common.postfilter import POSTFILTER_PARAMETERS, postfilter_search
from fanns_bench.methods.params import Param
from fanns_bench.methods.usearch.common import add_rows, as_batch, new_index


class UsearchPostfilter(Method):
    """Unfiltered usearch HNSW search for candidates (`ef` raised to the candidate count),
    then the first k that satisfy the filter; rows stay -1 padded when the cap is reached."""

    name = "usearch_postfilter"
    deterministic_build = "one_thread"
    nondeterminism = (
        "usearch's parallel add links nodes in thread-scheduling order (levels: fixed-seed generator)"
    )
    build_parameters = {
        "connectivity": Param(int, 32, "graph degree (M)", minimum=2),
        "expansion_add": Param(int, 100, "candidate list size while inserting", minimum=1),
    }
    search_parameters = {"ef": Param(int, 64, "expansion_search", minimum=1), **POSTFILTER_PARAMETERS}
    capabilities = ANY_FILTER
    requires = ("usearch",)
    extra = "usearch"
    threading = "threads"
    description = "usearch HNSW + post-filtering, candidates doubled until k match (capped)"

    def __init__(self, metric: str, threads: int = 1, **build_params: Any) -> None:
        super().__init__(metric, threads, **build_params)
        self._index: Any = None
        self._candidates = 0.0

    def build(self, dataset: Dataset) -> None:
        params = self.build_params
        self._index = new_index(
            self.metric, dataset.dimension, params["connectivity"], params["expansion_add"]
        )
        add_rows(self._index, dataset.vectors, np.arange(dataset.count), self.threads)

    def prepare_filters(self, filters: FilterBatch) -> IdSets:
        return id_sets(filters)

    def search(
        self, queries: np.ndarray, filters: IdSets, k: int, ef: int, oversample: float, max_candidates: int
    ) -> np.ndarray:
        def unfiltered(batch: np.ndarray, n: int) -> np.ndarray:
            self._index.expansion_search = max(ef, n)
            keys, _, counts = as_batch(self._index.search(batch, n, threads=self.threads), len(batch))
            keys = keys.copy()
            keys[np.arange(keys.shape[1]) >= counts[:, None]] = -1
            return keys

        ids, fetched = postfilter_search(unfiltered, queries, filters, k, oversample, max_candidates)
        self._candidates = fetched / max(1, len(queries))
        return ids

    def memory_bytes(self) -> int:
        """usearch's serialized index size (vectors + graph)."""
        return 0 if self._index is None else int(self._index.serialized_length)

    def stats(self) -> dict[str, float]:
        """`candidates`: mean unfiltered candidates fetched per query in the last search."""
        return {"candidates": self._candidates}
