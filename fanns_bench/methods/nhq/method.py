"""`nhq_nsw` and `nhq_kgraph`: NHQ (Wang et al., NeurIPS 2023) in fanns-bench's own core.

NHQ searches a proximity graph with a fusion distance: vector distance plus
`weight_search` x (number of attributes that differ from the query's). It filters
approximately: when the search meets too few matching items it returns non-matching ones,
which the harness counts as `filter_violations` (nothing is post-filtered here). See README.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from fanns_bench.data.dataset import Dataset
from fanns_bench.errors import MethodError
from fanns_bench.filters.predicates import Predicate
from fanns_bench.filters.visitor import UnsupportedPredicate
from fanns_bench.methods.base import FilterBatch
from fanns_bench.methods.common.compiled import CompiledIndexMethod, load_sidecar, save_sidecar
from fanns_bench.methods.nhq.codes import AttributeCodes, QueryValues, attribute_names, encode
from fanns_bench.methods.params import Param

ATTRIBUTES = Param(str, "category", "scalar attribute(s) of NHQ's attribute vector, comma-separated")
DETERMINISTIC = Param(bool, False, "build on one thread (identical graph for identical input)")
WEIGHT = Param(float, 1e6, "weight of one differing attribute in the fusion distance", minimum=0.0)


@dataclass(frozen=True)
class QueryCodes:
    """The core's filter input: distinct query code rows and the row of each query."""

    codes: np.ndarray  # int32, (rows, attributes)
    rows: np.ndarray  # int64, one per query


class _NhqMethod(CompiledIndexMethod):
    """Shared adapter: attribute codes, query translation, persistence."""

    capabilities = frozenset({"eq", "and"})
    deterministic_build = "one_thread"
    nondeterminism = (
        "a parallel build (NN-descent updates, NSW insertion) depends on the order threads reach "
        "items (build param `deterministic` or runner.deterministic_builds: one thread)"
    )
    approximate_filter = True  # the fusion distance ranks non-matching items too (module docstring)
    harness_parameters = frozenset({"attributes", "deterministic", "fractional_b"})

    def __init__(self, metric: str, threads: int = 1, **build_params: Any) -> None:
        super().__init__(metric, threads, **build_params)
        self.attributes = attribute_names(self.build_params["attributes"])
        if not self.attributes:
            raise MethodError(f"{self.name}: attributes names no attribute")
        self._codes: AttributeCodes | None = None
        self._kinds: dict[str, str] = {}

    def unsupported_reason(self, predicate: Predicate | None, kinds: dict[str, str]) -> str | None:
        """One `eq` on each attribute of the build (NHQ's multi-attribute equality)."""
        if predicate is None:
            return f"{self.name} answers attribute-equality queries only (no unfiltered search)"
        try:
            QueryValues(self.attributes, kinds).visit(predicate)
        except UnsupportedPredicate as error:
            return str(error)
        return None

    def _make_index(self, dimension: int) -> Any:
        raise NotImplementedError

    def build(self, dataset: Dataset) -> None:
        self.check_dataset_metric(dataset)
        codes = encode(dataset.attributes, self.attributes)
        vectors = np.ascontiguousarray(dataset.vectors, dtype=np.float32)
        index = self.core_call(self._make_index, dataset.dimension)
        self.core_call(index.build, vectors, codes.codes, self.build_threads_used())
        self._index, self._codes, self._kinds = index, codes, dict(dataset.attributes.kinds)

    def build_threads_used(self) -> int:
        """1 for a deterministic build (identical for a seed), else `threads` (the runner's
        build threads; the build used every core whatever the runner said before)."""
        return 1 if self.build_params["deterministic"] else max(1, int(self.threads))

    def prepare_filters(self, filters: FilterBatch) -> QueryCodes:
        """Each distinct predicate as one row of attribute codes."""
        codes = self._built_codes()
        distinct, rows = filters.distinct, np.asarray(filters.set_of_query, dtype=np.int64)
        translator = QueryValues(self.attributes, self._kinds)
        table = []
        for predicate in distinct:
            reason = self.unsupported_reason(predicate, self._kinds)
            if reason is not None:
                raise MethodError(f"{self.name}: {reason}")
            table.append(codes.query_row(translator.visit(predicate)))
        array = np.array(table, dtype=np.int32).reshape(len(table), len(self.attributes))
        return QueryCodes(np.ascontiguousarray(array), rows)

    def _search(
        self, queries: np.ndarray, filters: QueryCodes, k: int, width: int, weight: float
    ) -> np.ndarray:
        index = self._built()
        if not isinstance(filters, QueryCodes):
            raise MethodError(
                f"{self.name}: search takes what prepare_filters returned, got {type(filters).__name__}"
            )
        queries = self.contiguous_queries(queries, index.dim, len(filters.rows))
        return self.search_core(index, queries, k, width, weight, self.threads, filters.codes, filters.rows)

    def save(self, path: str | Path) -> None:
        """Write the index to `path` and the attribute vocabulary beside it (`<path>.codes`)."""
        self._built().save(str(path))
        save_sidecar(_codes_path(path), {"codes": self._built_codes(), "kinds": self._kinds})

    def load(self, path: str | Path) -> None:
        """Replace the index by the one saved at `path` (instead of `build`)."""
        index = self.load_core(path)
        if index.params["metric"] != self.metric:
            raise MethodError(f"{self.name}: {path} holds an index for metric {index.params['metric']!r}")
        saved = load_sidecar(self.name, _codes_path(path), "attribute vocabulary", ("codes", "kinds"))
        codes, kinds = saved["codes"], saved["kinds"]
        if not isinstance(codes, AttributeCodes) or codes.attributes != self.attributes:
            raise MethodError(f"{self.name}: {path} was not built on attributes {list(self.attributes)}")
        self._index, self._codes, self._kinds = index, codes, kinds

    def _built_codes(self) -> AttributeCodes:
        if self._codes is None:
            raise MethodError(f"{self.name}: call build() (or load()) before search()")
        return self._codes


class NhqNsw(_NhqMethod):
    """NHQ-NSW: a flat navigable small world graph built with the fusion distance."""

    name = "nhq_nsw"
    description = "NHQ-NSW (own C++ core): NSW graph searched with a vector+attribute fusion distance"
    core_class = "NhqNswIndex"
    build_parameters: ClassVar[dict[str, Param]] = {
        "attributes": ATTRIBUTES,
        "M": Param(int, 40, "links kept per node", minimum=1),
        "ef_construction": Param(int, 300, "beam width while inserting", minimum=1),
        "deterministic": DETERMINISTIC,
    }
    search_parameters: ClassVar[dict[str, Param]] = {
        "ef_search": Param(int, 100, "search width (n2: expands ef_search / 2 nodes)", minimum=1),
        "weight_search": WEIGHT,
    }

    def _make_index(self, dimension: int) -> Any:
        from fanns_bench import _core

        return _core.NhqNswIndex(dimension, self.metric, len(self.attributes), **self.core_fields())

    def search(
        self, queries: np.ndarray, filters: QueryCodes, k: int, ef_search: int, weight_search: float
    ) -> np.ndarray:
        return self._search(queries, filters, k, ef_search, weight_search)


class NhqKGraph(_NhqMethod):
    """NHQ-KGraph (the authors' NPG_kgraph): NN-descent kNN graph pruned by NHQ's edge selection."""

    name = "nhq_kgraph"
    description = "NHQ-KGraph (own C++ core): pruned NN-descent graph searched with a fusion distance"
    core_class = "NhqKGraphIndex"
    # 1: the authors' random numbers (rand() after srand(seed + 1), their mt19937s) and their
    # L2 summation order: a one-thread build is their graph (issue 19)
    revision = 1
    build_parameters: ClassVar[dict[str, Param]] = {
        "attributes": ATTRIBUTES,
        "K": Param(int, 100, "pool neighbours whose own lists give two-hop candidates (with B)", minimum=1),
        "L": Param(int, 80, "NN-descent pool size", minimum=1),
        "iter": Param(int, 12, "NN-descent iterations (stops early at control recall 0.8)", minimum=1),
        "S": Param(int, 15, "NN-descent sample size", minimum=1),
        "R": Param(int, 200, "NN-descent reverse-neighbour cap", minimum=1),
        "RANGE": Param(int, 70, "out-degree bound of the final graph", minimum=1),
        "PL": Param(int, 200, "two-hop candidates added before pruning", minimum=0),
        "B": Param(
            float,
            0.5,
            "share of K whose lists give two-hop candidates (truncated unless fractional_b)",
            minimum=0.0,
        ),
        "fractional_b": Param(
            bool,
            False,
            "B as the documented fraction (ours); false: truncated to an integer, as the authors' code",
        ),
        "M": Param(float, 1.0, "pruning factor: drop p when M * d(kept, p) < d(node, p)", minimum=0.0),
        "seed": Param(
            int,
            0,
            "initial graph and sampling: the authors' rand() after srand(seed + 1) (0: as published)",
            minimum=0,
        ),
        "deterministic": DETERMINISTIC,
    }
    search_parameters: ClassVar[dict[str, Param]] = {
        "L_search": Param(int, 100, "search pool size (raised to k when smaller)", minimum=1),
        "weight_search": WEIGHT,
    }

    def _make_index(self, dimension: int) -> Any:
        from fanns_bench import _core

        p = self.build_params
        # The authors' code reads B into an unsigned: 0.5 becomes 0 (no two-hop candidates).
        b = float(p["B"]) if p["fractional_b"] else float(int(p["B"]))
        return _core.NhqKGraphIndex(
            dimension, self.metric, len(self.attributes), **(self.core_fields() | {"B": b})
        )

    def search(
        self, queries: np.ndarray, filters: QueryCodes, k: int, L_search: int, weight_search: float
    ) -> np.ndarray:
        return self._search(queries, filters, k, L_search, weight_search)


def _codes_path(path: str | Path) -> Path:
    return Path(f"{path}.codes")
