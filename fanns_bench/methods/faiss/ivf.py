"""faiss IVF-Flat with an `IDSelectorBitmap` per query (filtering inside the probed lists)."""

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


class FaissIVF(Method):
    """`IndexIVFFlat` searched with `SearchParametersIVF(nprobe, sel=IDSelectorBitmap)`.

    `nlist` defaults to about 4 * sqrt(N) when not given (capped by N / 39, faiss's
    minimum of 39 training points per centroid).
    """

    name = "faiss_ivf"
    capabilities = ANY_FILTER
    requires = ("faiss",)
    description = "faiss IVF-Flat, filtered in the probed lists by an IDSelectorBitmap"

    def build(self, dataset: Dataset) -> None:
        import faiss

        set_threads(self.threads)
        vectors = as_float32(dataset.vectors)
        default_nlist = int(4 * np.sqrt(len(vectors)))
        nlist = int(self.build_params.get("nlist") or default_nlist)
        nlist = max(1, min(nlist, len(vectors) // 39))
        quantizer = faiss.IndexFlat(dataset.dimension, faiss_metric(self.metric))
        self.index = faiss.IndexIVFFlat(quantizer, dataset.dimension, nlist, faiss_metric(self.metric))
        self.index.cp.seed = int(self.build_params.get("seed", 1234))
        self.index.train(vectors)
        self.index.add(vectors)
        self.nlist = nlist

    def search(self, queries: np.ndarray, filters: FilterBatch, k: int, **search_params: Any) -> np.ndarray:
        import faiss

        set_threads(self.threads)
        nprobe = min(int(search_params.get("nprobe", 16)), self.nlist)
        return selector_search(
            self.index,
            as_float32(queries),
            filters,
            k,
            lambda sel: faiss.SearchParametersIVF(nprobe=nprobe, sel=sel),
        )

    def memory_bytes(self) -> int:
        return index_bytes(self.index)
