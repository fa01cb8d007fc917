"""Adapters shared by the compiled range methods that index items in attribute order: one
ordered attribute chosen at build time, value ranges turned into positions in
`prepare_filters` (`OrderedAttributeMethod`, also the base of `segment_graph_method`), and,
for the cores that take the item order and return ids (`irangegraph`, `digra`), the index
built, searched, saved and loaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from fanns_bench.data.dataset import Dataset
from fanns_bench.errors import MethodError
from fanns_bench.filters.predicates import Predicate
from fanns_bench.methods.base import FilterBatch
from fanns_bench.methods.common.compiled import CompiledIndexMethod
from fanns_bench.methods.common.ordered import PositionRanges, method_position_ranges, range_support
from fanns_bench.methods.params import Param

STORAGES = ("float32", "float16")

SHARED_BUILD_PARAMETERS = {
    "attribute": Param(str, "update_date", "the ordered attribute the index sorts items by"),
    "seed": Param(int, 0, "seed of every random choice (entry points, insertion order)", minimum=0),
    "storage": Param(str, "float32", "vector storage in the core", choices=STORAGES),
}


class OrderedAttributeMethod(CompiledIndexMethod):
    """A compiled range method over one ordered attribute (build parameter `attribute`):
    a single range on it or no filter, value ranges turned into sorted-order positions."""

    capabilities = frozenset({"range", "none"})
    # every random choice is seeded from (seed, item or tree node); parallel work items are independent
    deterministic_build = "always"
    harness_parameters = frozenset({"attribute", "storage"})

    @property
    def attribute(self) -> str:
        return str(self.build_params["attribute"])

    def _core_params(self) -> dict[str, Any]:
        """Keyword arguments of the core class besides `dim` and `metric`: its declared fields
        and, where the method has it, `storage`."""
        storage = {"storage": self.build_params["storage"]} if "storage" in self.build_parameters else {}
        return {**self.core_fields(), **storage}

    def unsupported_reason(self, predicate: Predicate | None, kinds: dict[str, str]) -> str | None:
        """A single range on the build's ordered attribute, or no filter; nothing else."""
        return range_support(self.name, self.attribute, predicate, kinds)

    def sorted_items(self, dataset: Dataset) -> np.ndarray:
        """The item ids in the attribute's sorted order (items without a value left out), once
        the dataset's metric and attribute are checked. Sorting is part of the build."""
        self.check_dataset_metric(dataset)
        if dataset.attributes.kinds.get(self.attribute) != "ordered":
            raise MethodError(
                f"{self.name}: dataset {dataset.name!r} has no ordered attribute {self.attribute!r} "
                f"(build parameter `attribute`)"
            )
        order = np.ascontiguousarray(dataset.attribute_index.sorted_order(self.attribute), dtype=np.int64)
        if len(order) == 0:
            raise MethodError(f"{self.name}: no item of {dataset.name!r} has a value of {self.attribute!r}")
        return order

    def prepare_filters(self, filters: FilterBatch) -> PositionRanges:
        """Each query's value range as half-open positions in the attribute order."""
        return method_position_ranges(self.name, filters, self.attribute)


class SortedRangeIndexMethod(OrderedAttributeMethod):
    """A range method whose core takes the item order and returns item ids."""

    def build(self, dataset: Dataset) -> None:
        """Sort the items by the attribute and index them."""
        from fanns_bench import _core

        order = self.sorted_items(dataset)
        vectors = np.ascontiguousarray(dataset.vectors, dtype=np.float32)
        index = self.core_call(
            getattr(_core, self.core_class), dataset.dimension, self.metric, **self._core_params()
        )
        self.core_call(index.build, vectors, order, self.threads)
        self._index = index

    def _search(self, queries: np.ndarray, filters: PositionRanges, k: int, *args: Any) -> np.ndarray:
        """Call the core's search with (queries, k, *args[:2], threads, starts, stops, *args[2:])."""
        index = self._built()
        queries = self.contiguous_queries(queries, index.dim)
        if len(filters.starts) != len(queries):
            raise MethodError(
                f"{self.name}: {len(filters.starts)} filters for a batch of {len(queries)} queries"
            )
        ef_search, *rest = args
        return self.search_core(
            index, queries, k, ef_search, self.threads, filters.starts, filters.stops, *rest
        )

    def load(self, path: str | Path) -> None:
        """Replace the index by the one saved at `path` (instead of `build`). The file holds
        the item order it was built with; it must come from the same dataset and attribute."""
        index = self.load_core(path)
        expected = {"metric": self.metric, **self._core_params()}
        found = {key: index.params[key] for key in expected}
        if found != expected:
            raise MethodError(f"{self.name}: {path} holds an index built with {found}, expected {expected}")
        self._index = index
