"""Adapter shared by the compiled range methods that index items in attribute order
(`irangegraph`, `digra`): one ordered attribute chosen at build time, value ranges turned
into positions in `prepare_filters`, and the core's index built, searched, saved and loaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from fanns_bench.data.dataset import Dataset
from fanns_bench.errors import MethodError
from fanns_bench.filters.predicates import Predicate, Range
from fanns_bench.methods.base import FilterBatch, Method
from fanns_bench.methods.common.ordered import PositionRanges, position_ranges
from fanns_bench.methods.params import Param

STORAGES = ("float32", "float16")

SHARED_BUILD_PARAMETERS = {
    "attribute": Param(str, "update_date", "the ordered attribute the index sorts items by"),
    "seed": Param(int, 0, "seed of every random choice (entry points, insertion order)", minimum=0),
    "storage": Param(str, "float32", "vector storage in the core", choices=STORAGES),
}


class SortedRangeIndexMethod(Method):
    """A range method over one ordered attribute, backed by a `_core` index class."""

    capabilities = frozenset({"range", "none"})
    requires = ("fanns_bench._core",)
    threading = "threads"
    core_class: ClassVar[str] = ""

    def __init__(self, metric: str, threads: int = 1, **build_params: Any) -> None:
        super().__init__(metric, threads, **build_params)
        if metric not in ("ip", "l2"):
            raise MethodError(f"{self.name}: metric must be 'ip' or 'l2', got {metric!r}")
        self.attribute: str = self.build_params["attribute"]
        self._index: Any = None
        self._stats: dict[str, float] = {}

    def _core_params(self) -> dict[str, Any]:
        """Keyword arguments of the core class besides `dim` and `metric`."""
        raise NotImplementedError

    def unsupported_reason(self, predicate: Predicate | None, kinds: dict[str, str]) -> str | None:
        """A single range on the build's ordered attribute, or no filter; nothing else."""
        if predicate is None:
            return None
        if not isinstance(predicate, Range):
            return f"{self.name} answers one range on {self.attribute!r} only, got {predicate!r}"
        if predicate.attr != self.attribute:
            return (
                f"{self.name} is built for ranges on {self.attribute!r} (build parameter "
                f"`attribute`), not on {predicate.attr!r}"
            )
        if kinds.get(self.attribute) != "ordered":
            return f"{self.name}: attribute {self.attribute!r} is not an ordered attribute of the dataset"
        return None

    def build(self, dataset: Dataset) -> None:
        """Sort the items by the attribute (not timed apart: part of the build) and index them."""
        from fanns_bench import _core

        if dataset.metric != self.metric:
            raise MethodError(
                f"{self.name}: built for metric {self.metric!r}, dataset {dataset.name!r} uses "
                f"{dataset.metric!r}"
            )
        if dataset.attributes.kinds.get(self.attribute) != "ordered":
            raise MethodError(
                f"{self.name}: dataset {dataset.name!r} has no ordered attribute {self.attribute!r} "
                f"(build parameter `attribute`)"
            )
        order = np.ascontiguousarray(dataset.attribute_index.sorted_order(self.attribute), dtype=np.int64)
        if len(order) == 0:
            raise MethodError(f"{self.name}: no item of {dataset.name!r} has a value of {self.attribute!r}")
        vectors = np.ascontiguousarray(dataset.vectors, dtype=np.float32)
        try:
            index = getattr(_core, self.core_class)(dataset.dimension, self.metric, **self._core_params())
            index.build(vectors, order, self.threads)
        except ValueError as error:
            raise MethodError(f"{self.name}: {error}") from error
        self._index = index

    def prepare_filters(self, filters: FilterBatch) -> PositionRanges:
        """Each query's value range as half-open positions in the attribute order."""
        try:
            return position_ranges(filters, self.attribute)
        except ValueError as error:
            raise MethodError(f"{self.name}: {error}") from error

    def _search(self, queries: np.ndarray, filters: PositionRanges, k: int, *args: Any) -> np.ndarray:
        """Call the core's search with (queries, k, *args[:2], threads, starts, stops, *args[2:])."""
        index = self._built()
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        if queries.ndim != 2 or queries.shape[1] != index.dim:
            raise MethodError(f"{self.name}: queries must have shape (n, {index.dim}), got {queries.shape}")
        if len(filters.starts) != len(queries):
            raise MethodError(
                f"{self.name}: {len(filters.starts)} filters for a batch of {len(queries)} queries"
            )
        ef_search, *rest = args
        try:
            ids, _, counts = index.search(
                queries, k, ef_search, self.threads, filters.starts, filters.stops, *rest
            )
        except ValueError as error:
            raise MethodError(f"{self.name}: {error}") from error
        self._stats = {"distance_computations": float(counts.mean()) if len(counts) else 0.0}
        return ids

    def memory_bytes(self) -> int:
        """Vectors, item order and links held by the core."""
        return 0 if self._index is None else int(self._index.memory_bytes())

    def stats(self) -> dict[str, float]:
        """`distance_computations`: mean per query of the last `search`."""
        return dict(self._stats)

    def save(self, path: str | Path) -> None:
        """Write the index (vectors, item order, links) to `path`, one binary file."""
        self._built().save(str(path))

    def load(self, path: str | Path) -> None:
        """Replace the index by the one saved at `path` (instead of `build`). The file holds
        the item order it was built with; it must come from the same dataset and attribute."""
        from fanns_bench import _core

        try:
            index = getattr(_core, self.core_class).load(str(path))
        except RuntimeError as error:
            raise MethodError(f"{self.name}: {error}") from error
        expected = {"metric": self.metric, **self._core_params()}
        found = {key: index.params[key] for key in expected}
        if found != expected:
            raise MethodError(f"{self.name}: {path} holds an index built with {found}, expected {expected}")
        self._index = index

    def close(self) -> None:
        self._index = None

    def _built(self) -> Any:
        if self._index is None:
            raise MethodError(f"{self.name}: call build() (or load()) before search()")
        return self._index
