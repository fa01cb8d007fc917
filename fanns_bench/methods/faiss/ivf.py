"""faiss IVF-Flat with an `IDSelectorBitmap` per filter (filtering inside the probed lists)."""

from __future__ import annotations

import numpy as np

from fanns_bench.data.dataset import Dataset
from fanns_bench.errors import MethodError
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

TRAINING_POINTS_PER_LIST = 39  # faiss's minimum of training points per centroid


class FaissIVF(Method):
    """`IndexIVFFlat` searched with `SearchParametersIVF(nprobe, sel=IDSelectorBitmap)`.

    `nlist` 0 means about 4 * sqrt(N), capped by N / 39 (faiss's minimum of 39 training
    points per centroid); a given `nlist` above N / 39 is refused (a `MethodError`), so a
    row never records an `nlist` other than the one built.
    """

    name = "faiss_ivf"
    deterministic_build = (
        "always"  # k-means seeded (`seed`); faiss training and IVF add are deterministic at any thread count
    )
    build_parameters = {
        "nlist": Param(int, 0, "inverted lists (0: about 4 sqrt(N))", minimum=0),
        "seed": Param(int, 1234, "k-means seed"),
    }
    search_parameters = {"nprobe": Param(int, 16, "lists probed per query (capped at nlist)", minimum=1)}
    capabilities = ANY_FILTER
    requires = ("faiss",)
    description = "faiss IVF-Flat, filtered in the probed lists by an IDSelectorBitmap"

    def build(self, dataset: Dataset) -> None:
        import faiss

        set_threads(self.threads)
        vectors = as_float32(dataset.vectors)
        cap = max(1, len(vectors) // TRAINING_POINTS_PER_LIST)
        given = self.build_params["nlist"]
        if given > cap:
            raise MethodError(
                f"faiss_ivf: nlist={given} needs {given * TRAINING_POINTS_PER_LIST} items to train "
                f"({TRAINING_POINTS_PER_LIST} per list); the dataset has {len(vectors)}: use nlist <= {cap}, "
                "or 0 (about 4 sqrt(N))"
            )
        nlist = min(given or int(4 * np.sqrt(len(vectors))), cap)
        quantizer = faiss.IndexFlat(dataset.dimension, faiss_metric(self.metric))
        self.index = faiss.IndexIVFFlat(quantizer, dataset.dimension, nlist, faiss_metric(self.metric))
        self.index.cp.seed = self.build_params["seed"]
        self.index.train(vectors)
        self.index.add(vectors)
        self.nlist = nlist

    def prepare_filters(self, filters: FilterBatch) -> Selectors:
        return bitmap_selectors(filters)

    def search(self, queries: np.ndarray, filters: Selectors, k: int, nprobe: int) -> np.ndarray:
        import faiss

        set_threads(self.threads)
        nprobe = min(nprobe, self.nlist)
        return selector_search(
            self.index,
            as_float32(queries),
            filters,
            k,
            lambda sel: faiss.SearchParametersIVF(nprobe=nprobe, sel=sel),
        )

    def memory_bytes(self) -> int:
        """Serialised faiss index size (vectors + centroids + lists)."""
        return index_bytes(self.index)
