"""`acorn_gamma` and `acorn_1`: ACORN (Patel et al., SIGMOD 2024) in fanns-bench's own core.

The index lives in C++ (`cpp/acorn`); this module validates parameters, turns the
harness's filters into CSR id sets, and reports memory and distance counts. See README.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from fanns_bench.data.dataset import Dataset
from fanns_bench.errors import MethodError
from fanns_bench.methods.base import ANY_FILTER, FilterBatch
from fanns_bench.methods.common.compiled import CompiledIndexMethod
from fanns_bench.methods.common.id_sets import IdSets, id_sets
from fanns_bench.methods.params import Param

STORAGES = ("float32", "float16")
# Parameters that several ACORN methods declare alike (bounds as the core's field lists).
GRAPH_DEGREE = Param(
    int, 32, "graph degree (links kept per node before expansion; HNSW's M)", minimum=2, maximum=512
)
SEED = Param(int, 0, "random seed of the level assignment (and, reference, insertion order)", minimum=0)


class _AcornMethod(CompiledIndexMethod):
    """Shared adapter of the ACORN methods; each has a core class of its own (`core_class`),
    whose keyword arguments are the method's build parameters less `harness_parameters`."""

    capabilities = ANY_FILTER
    deterministic_build = "one_thread"
    nondeterminism = (
        "a parallel build inserts items in the order threads reach them "
        "(build param `deterministic` or runner.deterministic_builds: one thread)"
    )
    # 1: a parallel build writes an insertion's own lists before any back-link (a preempted
    # build thread no longer leaves islands; one-thread builds unchanged, list for list)
    revision = 1

    search_parameters = {
        "ef_search": Param(int, 64, "candidate list size (raised to k)", minimum=1),
        "max_neighbors": Param(int, 0, "cap on filtered neighbours per expansion (0: M)", minimum=0),
    }

    def build(self, dataset: Dataset) -> None:
        from fanns_bench import _core

        self.check_dataset_metric(dataset)
        vectors = np.ascontiguousarray(dataset.vectors, dtype=np.float32)
        core_class = getattr(_core, self.core_class)
        storage = self.build_params["storage"]
        index = self.core_call(
            core_class, dataset.dimension, self.metric, storage=storage, **self.core_fields()
        )
        self.core_call(index.build, vectors, threads=self.build_threads_used())
        self._index = index

    def prepare_filters(self, filters: FilterBatch) -> IdSets:
        """The batch's distinct CSR id sets and each query's set (-1: unfiltered)."""
        return id_sets(filters)

    def search(
        self, queries: np.ndarray, filters: IdSets, k: int, ef_search: int, max_neighbors: int
    ) -> np.ndarray:
        """Search; `max_neighbors` (0 = M) caps the filtered neighbours per expansion."""
        index, queries = self.checked_batch(queries, filters)
        sets = filters
        arguments: dict[str, Any] = {"max_neighbors": max_neighbors}
        if not sets.unfiltered:
            arguments |= {
                "filter_ids": sets.ids,
                "filter_offsets": sets.offsets,
                "filter_rows": sets.rows,
            }
        return self.search_core(index, queries, k, ef_search, self.threads, **arguments)

    def checked_batch(self, queries: np.ndarray, filters: IdSets) -> tuple[Any, np.ndarray]:
        """The built index and `queries` as C-contiguous float32, once `filters` are checked to
        cover the index's items and the batch's queries."""
        index = self._built()
        queries = self.contiguous_queries(queries, index.dim)
        if filters.num_items != index.size or len(filters.rows) != len(queries):
            raise MethodError(
                f"{self.name}: filters cover {filters.num_items} items and {len(filters.rows)} queries; "
                f"the index has {index.size} items and the batch {len(queries)} queries"
            )
        return index, queries

    def build_threads_used(self) -> int:
        """1 for a deterministic build (identical for a seed), else `threads`."""
        return 1 if self.build_params["deterministic"] else max(1, int(self.threads))

    def load(self, path: str | Path) -> None:
        """Replace the index by the one saved at `path` (instead of `build`); the core refuses
        another method's file."""
        index = self.load_core(path)
        if index.params["metric"] != self.metric:
            raise MethodError(
                f"{self.name}: {path} holds an index for metric {index.params['metric']!r}, "
                f"expected {self.metric!r}"
            )
        self._index = index


class AcornGamma(_AcornMethod):
    """ACORN-γ: neighbour lists of M·γ candidates, level 0 compressed beyond M_β."""

    name = "acorn_gamma"
    core_class = "AcornGammaIndex"
    description = "ACORN-γ (own C++ core): predicate-subgraph traversal over an M·γ graph"

    build_parameters = {
        "M": GRAPH_DEGREE,
        "gamma": Param(
            int, 12, "neighbour list expansion (paper: about 1 / lowest selectivity)", minimum=1, maximum=1024
        ),
        "M_beta": Param(int, 64, "level-0 links kept uncompressed (1 <= M_beta <= M * gamma)", minimum=1),
        "ef_construction": Param(int, 100, "candidate list size while inserting", minimum=1),
        "seed": SEED,
        "storage": Param(str, "float32", "vector storage", choices=STORAGES),
        "diversify": Param(bool, True, "list HNSW's RNG choice of links first (False: nearest-first)"),
        "deterministic": Param(bool, False, "single-threaded build, identical for a seed"),
    }


class Acorn1(_AcornMethod):
    """ACORN-1: a standard HNSW; the search expands neighbour lists to two hops."""

    name = "acorn_1"
    core_class = "Acorn1Index"
    description = "ACORN-1 (own C++ core): HNSW with two-hop expansion at search time"

    build_parameters = {
        name: AcornGamma.build_parameters[name]
        for name in ("M", "ef_construction", "seed", "storage", "deterministic")
    }
