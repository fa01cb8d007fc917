"""faiss HNSW with an `IDSelectorBitmap` per query (filtering during graph traversal)."""

from __future__ import annotations

from typing import Any

import numpy as np

from fanns_bench.data.dataset import Dataset
from fanns_bench.methods.base import ANY_FILTER, FilterBatch, Method
from fanns_bench.methods.faiss.common import (
    as_float32,
    faiss_metric,
    index_bytes,
    selector_search,
    set_threads,
)


def build_hnsw_flat(dataset: Dataset, metric: str, threads: int, build_params: dict[str, Any]) -> Any:
    """An `IndexHNSWFlat` over the dataset's vectors (`M` default 32, `efConstruction` default 100)."""
    import faiss

    set_threads(threads)
    m = int(build_params.get("M", 32))
    index = faiss.IndexHNSWFlat(dataset.dimension, m, faiss_metric(metric))
    index.hnsw.efConstruction = int(build_params.get("efConstruction", 100))
    index.add(as_float32(dataset.vectors))
    return index


class FaissHNSW(Method):
    """`IndexHNSWFlat` searched with `SearchParametersHNSW(efSearch, sel=IDSelectorBitmap)`."""

    name = "faiss_hnsw"
    capabilities = ANY_FILTER
    requires = ("faiss",)
    description = "faiss HNSW, filtered in-graph by an IDSelectorBitmap per query"

    def build(self, dataset: Dataset) -> None:
        self.index = build_hnsw_flat(dataset, self.metric, self.threads, self.build_params)

    def search(self, queries: np.ndarray, filters: FilterBatch, k: int, **search_params: Any) -> np.ndarray:
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
