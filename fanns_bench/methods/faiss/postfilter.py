"""Post-filtering over faiss HNSW: search unfiltered for k / selectivity candidates, keep matches."""

from __future__ import annotations

from typing import Any

import numpy as np

from fanns_bench.data.dataset import Dataset
from fanns_bench.methods.base import ANY_FILTER, FilterBatch, Method, pad_results
from fanns_bench.methods.faiss.common import as_float32, index_bytes, set_threads
from fanns_bench.methods.faiss.hnsw import build_hnsw_flat


class FaissHNSWPostfilter(Method):
    """Unfiltered HNSW search for `ceil(oversample * k / selectivity)` candidates (capped at
    `max_candidates`), then the first k that satisfy the filter. Returns fewer than k
    when the candidates hold fewer matches: that is the strategy's real recall cost.
    """

    name = "faiss_hnsw_postfilter"
    capabilities = ANY_FILTER
    requires = ("faiss",)
    description = "post-filter: unfiltered faiss HNSW with oversampling k/selectivity, capped"

    def build(self, dataset: Dataset) -> None:
        self.index = build_hnsw_flat(dataset, self.metric, self.threads, self.build_params)
        self.count = dataset.count

    def search(self, queries: np.ndarray, filters: FilterBatch, k: int, **search_params: Any) -> np.ndarray:
        import faiss

        set_threads(self.threads)
        oversample = float(search_params.get("oversample", 1.0))
        cap = int(search_params.get("max_candidates", 4096))
        ef = int(search_params.get("efSearch", 64))
        queries = as_float32(queries)
        counts = np.array([max(1, len(ids)) for ids in filters.match_ids])
        wanted = np.minimum(np.ceil(oversample * k * self.count / counts).astype(int), cap)
        wanted = np.maximum(np.minimum(wanted, self.count), k)
        rows: list[np.ndarray] = [np.empty(0, np.int64)] * len(queries)
        for n_candidates in np.unique(wanted):
            group = np.flatnonzero(wanted == n_candidates)
            params = faiss.SearchParametersHNSW(efSearch=max(ef, int(n_candidates)))
            _, found = self.index.search(queries[group], int(n_candidates), params=params)
            for row, candidates in zip(group, found, strict=True):
                keep = candidates[candidates >= 0]
                rows[row] = keep[np.isin(keep, filters.match_ids[row])][:k]
        return pad_results(rows, k)

    def memory_bytes(self) -> int:
        return index_bytes(self.index)
