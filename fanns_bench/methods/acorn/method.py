"""`acorn_gamma` and `acorn_1`: ACORN (Patel et al., SIGMOD 2024) in fanns-bench's own core.

The index lives in C++ (`cpp/acorn`); this module validates parameters, turns the
harness's filters into CSR id sets, and reports memory and distance counts. See README.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from fanns_bench.data.dataset import Dataset
from fanns_bench.errors import MethodError
from fanns_bench.methods.acorn.filter_sets import filter_sets
from fanns_bench.methods.base import ANY_FILTER, FilterBatch, Method

STORAGES = ("float32", "float16")


class _AcornMethod(Method):
    """Shared adapter of both variants (`variant` names the core's variant)."""

    capabilities = ANY_FILTER
    requires = ("fanns_bench._core",)
    threading = "threads"
    variant: ClassVar[str] = ""

    def __init__(self, metric: str, threads: int = 1, **build_params: Any) -> None:
        super().__init__(metric, threads, **build_params)
        if metric not in ("ip", "l2"):
            raise MethodError(f"{self.name}: metric must be 'ip' or 'l2', got {metric!r}")
        if build_params["storage"] not in STORAGES:
            raise MethodError(
                f"{self.name}: storage must be one of {STORAGES}, got {build_params['storage']!r}"
            )
        self._index: Any = None
        self._stats: dict[str, float] = {}

    def _core_params(self) -> dict[str, Any]:
        """Keyword arguments of `_core.AcornIndex` (variant-specific)."""
        raise NotImplementedError

    def build(self, dataset: Dataset) -> None:
        from fanns_bench import _core

        if dataset.metric != self.metric:
            raise MethodError(
                f"{self.name}: built for metric {self.metric!r}, dataset {dataset.name!r} uses "
                f"{dataset.metric!r}"
            )
        vectors = np.ascontiguousarray(dataset.vectors, dtype=np.float32)
        try:
            index = _core.AcornIndex(dataset.dimension, self.metric, self.variant, **self._core_params())
            index.build(vectors, threads=self.build_threads_used())
        except ValueError as error:
            raise MethodError(f"{self.name}: {error}") from error
        self._index = index

    def search(
        self,
        queries: np.ndarray,
        filters: FilterBatch,
        k: int,
        ef_search: int = 64,
        max_neighbors: int = 0,
    ) -> np.ndarray:
        """Search; `max_neighbors` (0 = M) caps the filtered neighbours per expansion."""
        index = self._built()
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        if queries.ndim != 2 or queries.shape[1] != index.dim:
            raise MethodError(f"{self.name}: queries must have shape (n, {index.dim}), got {queries.shape}")
        if filters.num_items != index.size or len(filters) != len(queries):
            raise MethodError(
                f"{self.name}: filters cover {filters.num_items} items and {len(filters)} queries; "
                f"the index has {index.size} items and the batch {len(queries)} queries"
            )
        sets = filter_sets(filters)
        arguments: dict[str, Any] = {"max_neighbors": max_neighbors}
        if not sets.unfiltered:
            arguments |= {
                "filter_ids": sets.ids,
                "filter_offsets": sets.offsets,
                "filter_rows": sets.rows,
            }
        try:
            ids, _, counts = index.search(queries, k, ef_search, self.threads, **arguments)
        except ValueError as error:
            raise MethodError(f"{self.name}: {error}") from error
        self._stats = {"distance_computations": float(counts.mean()) if len(counts) else 0.0}
        return ids

    def build_threads_used(self) -> int:
        """1 for a deterministic build (identical for a seed), else `threads`."""
        return 1 if self.build_params["deterministic"] else max(1, int(self.threads))

    def memory_bytes(self) -> int:
        """Vectors plus graph (CSR adjacency and level tables) held by the core."""
        return 0 if self._index is None else int(self._index.memory_bytes())

    def stats(self) -> dict[str, float]:
        """`distance_computations`: mean per query of the last `search`."""
        return dict(self._stats)

    def save(self, path: str | Path) -> None:
        """Write the index to `path` (one binary file)."""
        self._built().save(str(path))

    def load(self, path: str | Path) -> None:
        """Replace the index by the one saved at `path` (instead of `build`)."""
        from fanns_bench import _core

        try:
            index = _core.AcornIndex.load(str(path))
        except RuntimeError as error:
            raise MethodError(f"{self.name}: {error}") from error
        if index.params["variant"] != self.variant or index.params["metric"] != self.metric:
            raise MethodError(
                f"{self.name}: {path} holds a {index.params['variant']!r} index for metric "
                f"{index.params['metric']!r}, expected {self.variant!r} / {self.metric!r}"
            )
        self._index = index

    def close(self) -> None:
        self._index = None

    def _built(self) -> Any:
        if self._index is None:
            raise MethodError(f"{self.name}: call build() (or load()) before search()")
        return self._index


class AcornGamma(_AcornMethod):
    """ACORN-γ: neighbour lists of M·γ candidates, level 0 compressed beyond M_β.

    Build params: `M`, `gamma` (paper: γ ≈ 1 / lowest selectivity), `M_beta`,
    `ef_construction`, `seed`, `storage` (float32 | float16), `diversify` (list HNSW's RNG
    choice of links first; False = the paper's nearest-first order), `deterministic`
    (single-threaded build, identical for a seed). Search params: `ef_search`, `max_neighbors`.
    """

    name = "acorn_gamma"
    variant = "gamma"
    description = "ACORN-γ (own C++ core): predicate-subgraph traversal over an M·γ graph"

    def __init__(
        self,
        metric: str,
        threads: int = 1,
        M: int = 32,
        gamma: int = 12,
        M_beta: int = 64,
        ef_construction: int = 100,
        seed: int = 0,
        storage: str = "float32",
        diversify: bool = True,
        deterministic: bool = False,
    ) -> None:
        super().__init__(
            metric,
            threads,
            M=M,
            gamma=gamma,
            M_beta=M_beta,
            ef_construction=ef_construction,
            seed=seed,
            storage=storage,
            diversify=diversify,
            deterministic=deterministic,
        )

    def _core_params(self) -> dict[str, Any]:
        p = self.build_params
        return {
            "M": int(p["M"]),
            "gamma": int(p["gamma"]),
            "M_beta": int(p["M_beta"]),
            "ef_construction": int(p["ef_construction"]),
            "seed": int(p["seed"]),
            "storage": p["storage"],
            "diversify": bool(p["diversify"]),
        }


class Acorn1(_AcornMethod):
    """ACORN-1: a standard HNSW; the search expands neighbour lists to two hops.

    Build params: `M`, `ef_construction`, `seed`, `storage`, `deterministic`.
    Search params: `ef_search`, `max_neighbors`.
    """

    name = "acorn_1"
    variant = "one"
    description = "ACORN-1 (own C++ core): HNSW with two-hop expansion at search time"

    def __init__(
        self,
        metric: str,
        threads: int = 1,
        M: int = 32,
        ef_construction: int = 100,
        seed: int = 0,
        storage: str = "float32",
        deterministic: bool = False,
    ) -> None:
        super().__init__(
            metric,
            threads,
            M=M,
            ef_construction=ef_construction,
            seed=seed,
            storage=storage,
            deterministic=deterministic,
        )

    def _core_params(self) -> dict[str, Any]:
        p = self.build_params
        return {
            "M": int(p["M"]),
            "gamma": 1,
            "M_beta": int(p["M"]),
            "diversify": True,
            "ef_construction": int(p["ef_construction"]),
            "seed": int(p["seed"]),
            "storage": p["storage"],
        }
