"""`caps`: CAPS (Gupta et al., NeurIPS 2023) in fanns-bench's own core (`cpp/caps`).

k-means partitions (faiss, at build time, here in Python) with a per-partition attribute
frequency tree (C++). A query is an equality on one label attribute, or a conjunction of
equalities on several (the paper's EM and MEM filters). See README.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from fanns_bench.data.dataset import Dataset
from fanns_bench.errors import MethodError
from fanns_bench.filters.evaluate import SET
from fanns_bench.filters.predicates import And, Eq, Predicate
from fanns_bench.filters.visitor import UnsupportedPredicate
from fanns_bench.methods.base import FilterBatch
from fanns_bench.methods.common.label_methods import (
    DETERMINISTIC,
    LABEL_ATTRIBUTE,
    SEED,
    LabelMethod,
    load_encodings,
    save_encodings,
)
from fanns_bench.methods.common.labels import NO_LABEL, AttributeTokens, LabelEncoding, encode_labels
from fanns_bench.methods.params import Param

ANY_VALUE = -1  # the core's "attribute not constrained"
NO_VALUE = -2  # the core's "value no item carries"


class Caps(LabelMethod):
    """CAPS: partitions probed closest centroid first, up to a distance-computation budget."""

    name = "caps"
    capabilities = frozenset({"eq", "and", "none"})
    description = "CAPS (own C++ core): k-means partitions + attribute frequency trees, EM/MEM"
    requires = ("fanns_bench._core", "faiss")
    core_class = "CapsIndex"
    harness_parameters = frozenset({"label_attribute", "kmeans_iterations", "seed", "deterministic"})
    build_parameters = {
        "label_attribute": LABEL_ATTRIBUTE,
        "clusters": Param(int, 128, "B: number of k-means partitions", minimum=1),
        "tree_levels": Param(
            int, 20, "levels of each partition's attribute frequency tree", minimum=0, maximum=1024
        ),
        "kmeans_iterations": Param(int, 25, "k-means iterations (faiss Clustering's niter)", minimum=1),
        "seed": SEED,
        "deterministic": DETERMINISTIC,
    }
    search_parameters = {
        "max_distances": Param(
            int, 1000, "m: distance computations per query (the search budget)", minimum=1
        ),
        "exact_top_k": Param(
            bool, False, "an exact top-k heap (ours); false: the authors' heap with its stale maximum"
        ),
        "fix_open_attributes": Param(
            bool,
            False,
            "open attributes use each partition's own tree and every bucket (ours); false: partition 0's "
            "tree, no remainder bucket for unfiltered queries, as the authors' program",
        ),
    }

    def __init__(self, metric: str, threads: int = 1, **build_params: Any) -> None:
        super().__init__(metric, threads, **build_params)
        self._encoding: LabelEncoding | None = None
        self._kinds: dict[str, str] = {}

    def unsupported_reason(self, predicate: Predicate | None, kinds: dict[str, str]) -> str | None:
        """Equality on scalar label attributes, alone or in a conjunction, or no filter."""
        if predicate is None:
            return None
        leaves = predicate.children if isinstance(predicate, And) else (predicate,)
        for leaf in leaves:
            if not isinstance(leaf, Eq) or kinds.get(leaf.attr) in (SET, None):
                return f"caps answers equalities on scalar attributes (and their conjunctions), not {leaf!r}"
            if leaf.attr not in self.label_attributes:
                return f"caps was built on the attributes {self.label_attributes}; not {leaf.attr!r}"
        return None

    def build(self, dataset: Dataset) -> None:
        from fanns_bench import _core

        self.check_dataset_metric(dataset)
        kinds = dataset.attributes.kinds
        for attr in self.label_attributes:
            if kinds.get(attr) == SET:
                raise MethodError(f"caps: label_attribute {attr!r} is a set attribute; CAPS needs scalars")
        vectors = np.ascontiguousarray(dataset.vectors, dtype=np.float32)
        clusters = self.build_params["clusters"]
        if clusters > len(vectors):
            raise MethodError(f"caps: clusters = {clusters} exceeds the {len(vectors)} items")
        self._kinds = dict(kinds)
        self._encoding = encode_labels(dataset.attributes, self.label_attributes)
        centroids, assignment = self._kmeans(vectors)
        index = self.core_call(_core.CapsIndex, dataset.dimension, self.metric, **self.core_fields())
        self.core_call(index.build, vectors, centroids, assignment, self._encoding.value_matrix())
        self._index = index

    def _kmeans(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """faiss k-means (L2) centroids and each item's nearest centroid."""
        import faiss

        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(self.build_threads_used())
        try:
            kmeans = faiss.Kmeans(
                vectors.shape[1],
                self.build_params["clusters"],
                niter=self.build_params["kmeans_iterations"],
                seed=self.build_params["seed"],
            )
            kmeans.train(vectors)
            _, nearest = kmeans.index.search(vectors, 1)
        finally:
            faiss.omp_set_num_threads(threads)
        return np.ascontiguousarray(kmeans.centroids, dtype=np.float32), nearest[:, 0].astype(np.int64)

    def prepare_filters(self, filters: FilterBatch) -> np.ndarray:
        """(queries, attributes) int64: required value token per label attribute, -1 any, -2 none.
        One visitor walk per distinct predicate of the batch."""
        if self._encoding is None:
            raise MethodError("caps: call build() (or load()) before search()")
        columns = {attr: i for i, attr in enumerate(self._encoding.attributes)}
        visitor = AttributeTokens(self._encoding, self._kinds)
        distinct = np.full((len(filters.distinct), len(columns)), ANY_VALUE, dtype=np.int64)
        for row, predicate in enumerate(filters.distinct):
            try:
                tokens = visitor.visit(predicate)
            except UnsupportedPredicate as error:
                raise MethodError(f"caps: {error}") from None
            for attr, token in tokens.items():
                distinct[row, columns[attr]] = NO_VALUE if token == NO_LABEL else token
        return np.ascontiguousarray(distinct[filters.set_of_query])

    def search(self, queries: np.ndarray, filters: np.ndarray, k: int, **search_params: Any) -> np.ndarray:
        params = self.search_params(search_params)
        index = self._built()
        queries = self.contiguous_queries(queries, index.dim)
        return self.search_core(
            index,
            queries,
            filters,
            k,
            params["max_distances"],
            self.threads,
            exact_top_k=params["exact_top_k"],
            fix_open_attributes=params["fix_open_attributes"],
        )

    def save(self, path: str | Path) -> None:
        """Write the index and the label vocabulary into the directory `path`."""
        index = self._built()
        directory = Path(path)
        save_encodings(directory, [self._encoding], {"kinds": self._kinds})
        index.save(str(directory / "index.bin"))

    def load(self, path: str | Path) -> None:
        """Replace the index by the one saved in `path` (instead of `build`)."""
        directory = Path(path)
        encodings, meta = load_encodings(self.name, directory)
        index = self.load_core(directory / "index.bin")
        self._encoding, self._kinds, self._index = encodings[0], meta["kinds"], index
