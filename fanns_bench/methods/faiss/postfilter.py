"""Post-filtering over faiss HNSW: unfiltered candidates, kept when they match, fetched by
doubling rounds (fanns_bench/methods/common/postfilter.py, shared by every post-filter method)."""

from __future__ import annotations

import numpy as np

from fanns_bench.data.dataset import Dataset
from fanns_bench.methods.base import ANY_FILTER, FilterBatch, Method
from fanns_bench.methods.common.id_sets import IdSets, id_sets
from fanns_bench.methods.common.postfilter import POSTFILTER_PARAMETERS, postfilter_search
from fanns_bench.methods.faiss.common import as_float32, index_bytes, set_threads
from fanns_bench.methods.faiss.hnsw import EF_SEARCH, HNSW_BUILD, build_hnsw_flat


class FaissHNSWPostfilter(Method):
    """Unfiltered HNSW search for candidates (efSearch raised to the candidate count), then the
    first k that satisfy the filter. Never told the selectivity."""

    name = "faiss_hnsw_postfilter"
    deterministic_build = "one_thread"
    nondeterminism = (
        "faiss adds HNSW vertices in parallel in an unspecified order (faiss wiki: "
        "reproducibility with multiple threads); level assignment is seeded"
    )
    build_parameters = HNSW_BUILD
    search_parameters = {"efSearch": EF_SEARCH, **POSTFILTER_PARAMETERS}
    capabilities = ANY_FILTER
    requires = ("faiss",)
    description = "post-filter: unfiltered faiss HNSW, candidates doubled until k match (capped)"

    def build(self, dataset: Dataset) -> None:
        self.index = build_hnsw_flat(dataset, self.metric, self.threads, self.build_params)
        self._candidates = 0.0

    def prepare_filters(self, filters: FilterBatch) -> IdSets:
        return id_sets(filters)

    def search(
        self,
        queries: np.ndarray,
        filters: IdSets,
        k: int,
        efSearch: int,
        oversample: float,
        max_candidates: int,
    ) -> np.ndarray:
        import faiss

        set_threads(self.threads)

        def unfiltered(batch: np.ndarray, n: int) -> np.ndarray:
            params = faiss.SearchParametersHNSW(efSearch=max(efSearch, n))
            return self.index.search(batch, n, params=params)[1]

        ids, fetched = postfilter_search(
            unfiltered, as_float32(queries), filters, k, oversample, max_candidates
        )
        self._candidates = fetched / max(1, len(queries))
        return ids

    def memory_bytes(self) -> int:
        """Serialised faiss index size (vectors + graph)."""
        return index_bytes(self.index)

    def stats(self) -> dict[str, float]:
        """`candidates`: mean unfiltered candidates fetched per query in the last search."""
        return {"candidates": self._candidates}
