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
from fanns_bench.methods.common.membership import MembershipTests, membership_tests
from fanns_bench.methods.params import Param

METRICS = {"ip": "ip", "l2": "l2"}


class KannoloACORN1(Method):
    """ACORN-1 on kannolo's HNSW: neighbours of filtered-out nodes are expanded at query time."""

    name = "kannolo_acorn_1"
    deterministic_build = "never"
    nondeterminism = (
        "kannolo builds on every core (rayon; no thread setting), linking nodes in thread-scheduling "
        "order, and exposes no seed (the library links rand's OS-seeded thread_rng)"
    )
    capabilities = ANY_FILTER
    requires = ("kannolo",)
    extra = "kannolo"
    threading = "single"
    description = "kannolo HNSW + ACORN-1 (search_filtered): Python predicate, one query per call"

    build_parameters = {
        "m": Param(int, 32, "graph degree", minimum=2),
        "ef_construction": Param(int, 100, "candidate list size while inserting", minimum=1),
    }
    search_parameters = {"ef_search": Param(int, 64, "candidate list size (raised to k)", minimum=1)}

    def __init__(self, metric: str, threads: int = 1, **build_params: Any) -> None:
        super().__init__(metric, threads, **build_params)
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

    def prepare_filters(self, filters: FilterBatch) -> MembershipTests:
        return membership_tests(filters)

    def search(self, queries: np.ndarray, filters: MembershipTests, k: int, ef_search: int) -> np.ndarray:
        ef_search = max(ef_search, k)
        rows = []
        for query, set_index in zip(queries, filters.sets.rows, strict=True):
            query = np.ascontiguousarray(query, dtype=np.float32)
            if set_index < 0:
                _, ids = self._index.search(query, k, ef_search=ef_search)
            else:
                _, ids = self._filtered(query, k, filters.tests[set_index], ef_search)
            rows.append(ids[ids >= 0])
        return pad_results(rows, k)

    def _filtered(self, query: np.ndarray, k: int, test: Any, ef_search: int) -> Any:
        return self._index.search_filtered(query, k, test, ef_search=ef_search)

    def memory_bytes(self) -> int:
        """kannolo's own accounting (`space_usage_bytes`: vectors and every graph level)."""
        return 0 if self._index is None else int(self._index.space_usage_bytes())


class KannoloACORNGamma(KannoloACORN1):
    """ACORN-γ: two-hop neighbour lists of up to γ·M entries precomputed at build time."""

    name = "kannolo_acorn_gamma"
    description = (
        "kannolo HNSW + ACORN-γ (build_acorn_gamma, search_filtered_gamma): "
        "Python predicate, one query per call"
    )

    build_parameters = {
        **KannoloACORN1.build_parameters,
        "gamma": Param(int, 4, "neighbour list expansion factor (lists of up to gamma * m)", minimum=1),
    }

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
