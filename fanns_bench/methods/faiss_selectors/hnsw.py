"""faiss HNSW with an `IDSelectorBitmap` per query (filtering during graph traversal)."""

from __future__ import annotations

from typing import Any

import numpy as np

from fanns_bench.data.store import Dataset
from fanns_bench.methods.base import ANY_FILTER, FilterBatch, Method
from fanns_bench.methods.faiss_selectors.common import (
    as_float32,
    faiss_metric,
    index_bytes,
    selector_search,
    set_threads,
)


class FaissHNSW(Method):
    """`IndexHNSWFlat` searched with `SearchParametersHNSW(efSearch, sel=IDSelectorBitmap)`."""

    name = "faiss_hnsw"
    capabilities = ANY_FILTER
    requires = ("faiss",)
    description = "faiss HNSW, filtered in-graph by an IDSelectorBitmap per query"

    def build(self, dataset: Dataset) -> None:
        import faiss

        set_threads(self.threads)
        m = int(self.build_params.get("M", 32))
        self.index = faiss.IndexHNSWFlat(dataset.dimension, m, faiss_metric(self.metric))
        self.index.hnsw.efConstruction = int(self.build_params.get("efConstruction", 100))
        self.index.add(as_float32(dataset.vectors))

    def search(
        self, queries: np.ndarray, filters: FilterBatch, k: int, **search_params: Any
    ) -> np.ndarray:
        import faiss

        set_threads(self.threads)
        ef = int(search_params.get("efSearch", 64))
        return selector_search(
            self.index,
            as_float32(queries),
            filters,
            k,
            lambda sel: faiss.SearchParametersHNSW(efSearch=max(ef, k), sel=sel),
        )

    def memory_bytes(self) -> int:
        return index_bytes(self.index)
