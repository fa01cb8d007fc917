"""Exact pre-filtering: brute force over each query's matching items."""

from __future__ import annotations

from typing import Any

import numpy as np

from fanns_bench.data.dataset import Dataset
from fanns_bench.methods.base import ANY_FILTER, FilterBatch, Method, pad_results
from fanns_bench.scoring import exact_filtered_top_k


class ExactPrefilter(Method):
    """Evaluate the filter, then score every matching vector exactly (recall 1 by design)."""

    name = "exact"
    capabilities = ANY_FILTER
    threading = "single"
    description = "exact pre-filter: brute force over the matching ids"

    def build(self, dataset: Dataset) -> None:
        self._vectors = dataset.vectors

    def search(self, queries: np.ndarray, filters: FilterBatch, k: int, **search_params: Any) -> np.ndarray:
        rows = [
            exact_filtered_top_k(q, self._vectors, ids, k, self.metric)[0]
            for q, ids in zip(queries, filters.match_ids, strict=True)
        ]
        return pad_results(rows, k)

    def memory_bytes(self) -> int:
        return 0
