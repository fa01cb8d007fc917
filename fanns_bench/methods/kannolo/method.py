"""kannolo's ACORN-1 (`search_filtered`) and ACORN-γ (`search_filtered_gamma`).

kannolo evaluates the filter through a Python callable per visited candidate and
answers one query per call, so both methods run single-threaded, one query at a
time. The callable is a bound C method over the query's match set (see
`methods.common.membership`). Unfiltered queries use the plain HNSW `search`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fanns_bench.data.dataset import Dataset
from fanns_bench.methods.base import ANY_FILTER, FilterBatch, Method, pad_results
from fanns_bench.methods.common.membership import membership_test

METRICS = {"ip": "ip", "l2": "l2"}


class KannoloACORN1(Method):
    """ACORN-1 on kannolo's HNSW: neighbours of filtered-out nodes are expanded at query time.

    Build params: `m`, `ef_construction`. Search params: `ef_search`.
    """

    name = "kannolo_acorn1"
    capabilities = ANY_FILTER
    requires = ("kannolo",)
    extra = "kannolo"
    threading = "single"
    description = "kannolo HNSW + ACORN-1 (search_filtered): Python predicate, one query per call"

    def __init__(self, metric: str, threads: int = 1, m: int = 32, ef_construction: int = 100) -> None:
        super().__init__(metric, threads, m=m, ef_construction=ef_construction)
        self._index: Any = None

    def build(self, dataset: Dataset) -> None:
        import kannolo

        flat = np.ascontiguousarray(dataset.vectors, dtype=np.float32).ravel()
        self._index = kannolo.DensePlainHNSW.build_from_array(
            flat,
            dataset.dimension,
            m=self.build_params["m"],
            ef_construction=self.build_params["ef_construction"],
            metric=METRICS[self.metric],
        )

    def search(self, queries: np.ndarray, filters: FilterBatch, k: int, ef_search: int = 64) -> np.ndarray:
        ef_search = max(ef_search, k)
        tests: dict[Any, Any] = {}
        rows = []
        for i, (query, predicate) in enumerate(zip(queries, filters.predicates, strict=True)):
            query = np.ascontiguousarray(query, dtype=np.float32)
            if predicate is None:
                _, ids = self._index.search(query, k, ef_search=ef_search)
            else:
                if predicate not in tests:
                    tests[predicate] = membership_test(filters.match_ids[i], filters.num_items)
                _, ids = self._filtered(query, k, tests[predicate], ef_search)
            rows.append(ids[ids >= 0])
        return pad_results(rows, k)

    def _filtered(self, query: np.ndarray, k: int, test: Any, ef_search: int) -> Any:
        return self._index.search_filtered(query, k, test, ef_search=ef_search)

    def memory_bytes(self) -> int:
        """kannolo's own accounting (`space_usage_bytes`: vectors and every graph level)."""
        return 0 if self._index is None else int(self._index.space_usage_bytes())


class KannoloACORNGamma(KannoloACORN1):
    """ACORN-γ: two-hop neighbour lists of up to γ·M entries precomputed at build time.

    Build params: `m`, `ef_construction`, `gamma`. Search params: `ef_search`.
    """

    name = "kannolo_acorn_gamma"
    description = (
        "kannolo HNSW + ACORN-γ (build_acorn_gamma, search_filtered_gamma): "
        "Python predicate, one query per call"
    )

    def __init__(
        self, metric: str, threads: int = 1, m: int = 32, ef_construction: int = 100, gamma: int = 4
    ) -> None:
        Method.__init__(self, metric, threads, m=m, ef_construction=ef_construction, gamma=gamma)
        self._index = None

    def build(self, dataset: Dataset) -> None:
        super().build(dataset)
        self._index.build_acorn_gamma(self.build_params["gamma"])
        self._count = dataset.count

    def memory_bytes(self) -> int:
        """`space_usage_bytes` plus the γ lists, which kannolo leaves out of its accounting.

        Those hold up to γ·M 4-byte ids per node; that bound matched the resident-memory
        growth of `build_acorn_gamma` within 4% (50k x 32, M=16, γ=4: 12.8 vs 13.3 MB).
        """
        if self._index is None:
            return 0
        params = self.build_params
        return super().memory_bytes() + self._count * params["gamma"] * params["m"] * 4

    def _filtered(self, query: np.ndarray, k: int, test: Any, ef_search: int) -> Any:
        return self._index.search_filtered_gamma(query, k, test, ef_search=ef_search)
