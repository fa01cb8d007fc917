"""faiss HNSW with an `IDSelectorBitmap` per filter (filtering during graph traversal)."""

from __future__ import annotations

from typing import Any

import numpy as np

from fanns_bench.data.dataset import Dataset
from fanns_bench.methods.base import ANY_FILTER, FilterBatch, Method
from fanns_bench.methods.faiss.common import (
    Selectors,
    as_float32,
    bitmap_selectors,
    faiss_metric,
    index_bytes,
    selector_search,
    set_threads,
)
from fanns_bench.methods.params import Param

HNSW_BUILD = {
    "M": Param(int, 32, "graph degree (level 0 holds 2M links)", minimum=2),
    "efConstruction": Param(int, 100, "candidate list size while inserting", minimum=1),
}
EF_SEARCH = Param(int, 64, "candidate list size while searching (raised to k when smaller)", minimum=1)


def build_hnsw_flat(dataset: Dataset, metric: str, threads: int, build_params: dict[str, Any]) -> Any:
    """An `IndexHNSWFlat` over the dataset's vectors."""
    import faiss

    set_threads(threads)
    index = faiss.IndexHNSWFlat(dataset.dimension, build_params["M"], faiss_metric(metric))
    index.hnsw.efConstruction = build_params["efConstruction"]
    index.add(as_float32(dataset.vectors))
    return index


class FaissHNSW(Method):
    """`IndexHNSWFlat` searched with `SearchParametersHNSW(efSearch, sel=IDSelectorBitmap)`."""

    name = "faiss_hnsw"
    deterministic_build = "one_thread"
    nondeterminism = (
        "faiss adds HNSW vertices in parallel in an unspecified order (faiss wiki: "
        "reproducibility with multiple threads); level assignment is seeded"
    )
    build_parameters = HNSW_BUILD
    search_parameters = {"efSearch": EF_SEARCH}
    capabilities = ANY_FILTER
    requires = ("faiss",)
    description = "faiss HNSW, filtered in-graph by an IDSelectorBitmap per query"

    def build(self, dataset: Dataset) -> None:
        self.index = build_hnsw_flat(dataset, self.metric, self.threads, self.build_params)

    def prepare_filters(self, filters: FilterBatch) -> Selectors:
        return bitmap_selectors(filters)

    def search(self, queries: np.ndarray, filters: Selectors, k: int, efSearch: int) -> np.ndarray:
        import faiss

        set_threads(self.threads)
        return selector_search(
            self.index,
            as_float32(queries),
            filters,
            k,
            lambda sel: faiss.SearchParametersHNSW(efSearch=max(efSearch, k), sel=sel),
        )

    def memory_bytes(self) -> int:
        """Serialised faiss index size (vectors + graph)."""
        return index_bytes(self.index)
