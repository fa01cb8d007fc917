"""`ung`: UNG (Cai et al., SIGMOD 2025) in fanns-bench's own core.

The index lives in C++ (`cpp/ung`); this module declares the parameters, turns attribute
values into label sets (the shared `common/labels.py` encoder), turns predicates into query
label sets in `prepare_filters` (`labels.py`), and reports memory and distance counts.
See README.md.
"""

from __future__ import annotations

import os
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
from fanns_bench.methods.common.labels import NO_LABEL, LabelEncoding, encode_labels
from fanns_bench.methods.params import Param
from fanns_bench.methods.ung.labels import QueryLabels, attribute_names, equality_reason


@dataclass(frozen=True)
class QuerySets:
    """The core's filter input: distinct query label sets (CSR) and the set of each query."""

    offsets: np.ndarray  # int64, sets + 1
    labels: np.ndarray  # int32
    rows: np.ndarray  # int64, one per query


class Ung(CompiledIndexMethod):
    """UNG: a Vamana graph per label set, linked along the label navigating graph."""

    name = "ung"
    deterministic_build = (
        "always"  # each group's Vamana graph is built on one thread; groups and cross edges are independent
    )
    description = "UNG (own C++ core): label navigating graph + per-label-set Vamana graphs"
    capabilities = frozenset({"eq", "contains", "contains_all", "and"})
    core_class = "UngIndex"
    # `scenario` is a core keyword of its own (a name, like `storage`), not a field
    harness_parameters = frozenset({"label_attribute", "scenario"})
    build_parameters: ClassVar[dict[str, Param]] = {
        "label_attribute": Param(
            str, "category", "attribute(s) whose values become labels, comma-separated ('category,tags')"
        ),
        "scenario": Param(
            str,
            "general",
            "general: label navigating graph + cross edges (containment queries); "
            "equality: per-label-set graphs only (queries equal to an item's whole label set)",
            choices=("general", "equality"),
        ),
        "num_cross_edges": Param(int, 6, "δ: cross-group edges per item", minimum=1),
        "max_degree": Param(int, 32, "R: out-degree bound of each Vamana graph", minimum=1),
        "L_build": Param(int, 100, "L: beam width while building", minimum=1),
        "alpha": Param(float, 1.2, "α: Vamana pruning slack", minimum=1.0),
    }
    search_parameters: ClassVar[dict[str, Param]] = {
        "L_search": Param(int, 100, "beam width (raised to k when smaller)", minimum=1),
        "num_entry_points": Param(int, 16, "σ: entry points per entry label set", minimum=1),
        "entry_points": Param(
            str,
            "first",
            "first: the authors' σ−1 extra entry points (the group's first items pushed, the drawn ones "
            "marked visited); drawn: the drawn members themselves (ours)",
            choices=("first", "drawn"),
        ),
    }

    def __init__(self, metric: str, threads: int = 1, **build_params: Any) -> None:
        super().__init__(metric, threads, **build_params)
        self.label_attributes = attribute_names(self.build_params["label_attribute"])
        if not self.label_attributes:
            raise MethodError(f"{self.name}: label_attribute names no attribute")
        if self.build_params["num_cross_edges"] > self.build_params["L_build"]:
            raise MethodError(f"{self.name}: num_cross_edges must be <= L_build")
        self._labels: LabelEncoding | None = None
        self._kinds: dict[str, str] = {}

    @property
    def _equality(self) -> bool:
        return self.build_params["scenario"] == "equality"

    def unsupported_reason(self, predicate: Predicate | None, kinds: dict[str, str]) -> str | None:
        """Label predicates on the build's label attributes (and label-set equality for
        scenario 'equality')."""
        if predicate is None:
            return f"{self.name} answers label queries only (no unfiltered search)"
        try:
            wanted = QueryLabels(self.label_attributes, kinds).visit(predicate)
        except UnsupportedPredicate as error:
            return str(error)
        if self._equality:
            return equality_reason(wanted, self.label_attributes, kinds)
        return None

    def build(self, dataset: Dataset) -> None:
        from fanns_bench import _core

        self.check_dataset_metric(dataset)
        labels = encode_labels(dataset.attributes, list(self.label_attributes))
        vectors = np.ascontiguousarray(dataset.vectors, dtype=np.float32)
        scenario = self.build_params["scenario"]
        index = self.core_call(
            _core.UngIndex, dataset.dimension, self.metric, scenario=scenario, **self.core_fields()
        )
        self.core_call(index.build, vectors, labels.offsets, labels.tokens, os.cpu_count() or 1)
        self._index, self._labels, self._kinds = index, labels, dict(dataset.attributes.kinds)

    def prepare_filters(self, filters: FilterBatch) -> QuerySets:
        """Each distinct predicate as a sorted label set; a value no item has becomes a label
        no item carries (the query then returns nothing)."""
        labels = self._built_labels()
        distinct, rows = filters.distinct, np.asarray(filters.set_of_query, dtype=np.int64)
        translator = QueryLabels(self.label_attributes, self._kinds)
        sets = []
        for predicate in distinct:
            reason = self.unsupported_reason(predicate, self._kinds)
            if reason is not None:
                raise MethodError(f"{self.name}: {reason}")
            wanted = translator.visit(predicate)
            sets.append(sorted({_label(labels, attr, v) for attr, values in wanted.items() for v in values}))
        sizes = np.array([len(s) for s in sets], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        flat = np.array([label for s in sets for label in s], dtype=np.int32)
        return QuerySets(offsets, flat, rows)

    def search(
        self,
        queries: np.ndarray,
        filters: QuerySets,
        k: int,
        L_search: int,
        num_entry_points: int,
        entry_points: str,
    ) -> np.ndarray:
        """Search with the label sets `prepare_filters` made (beam width max(L_search, k))."""
        index = self._built()
        sets = _prepared(self.name, filters, QuerySets)
        queries = self.contiguous_queries(queries, index.dim, len(sets.rows))
        mode = "equality" if self._equality else "containment"
        return self.search_core(
            index,
            queries,
            k,
            max(L_search, k),
            num_entry_points,
            self.threads,
            sets.offsets,
            sets.labels,
            sets.rows,
            mode,
            entry_points,
        )

    def save(self, path: str | Path) -> None:
        """Write the index to `path` and the label vocabulary beside it (`<path>.labels`)."""
        self._built().save(str(path))
        save_sidecar(_labels_path(path), {"labels": self._built_labels(), "kinds": self._kinds})

    def load(self, path: str | Path) -> None:
        """Replace the index by the one saved at `path` (instead of `build`)."""
        index = self.load_core(path)
        if index.params["metric"] != self.metric or index.params["scenario"] != self.build_params["scenario"]:
            raise MethodError(
                f"{self.name}: {path} holds a {index.params['scenario']!r} index for metric "
                f"{index.params['metric']!r}, expected {self.build_params['scenario']!r} / {self.metric!r}"
            )
        saved = load_sidecar(self.name, _labels_path(path), "label vocabulary", ("labels", "kinds"))
        labels, kinds = saved["labels"], saved["kinds"]
        if not isinstance(labels, LabelEncoding) or labels.attributes != self.label_attributes:
            names = list(self.label_attributes)
            raise MethodError(f"{self.name}: {path} was not built on label attributes {names}")
        self._index, self._labels, self._kinds = index, labels, kinds

    def _built_labels(self) -> LabelEncoding:
        if self._labels is None:
            raise MethodError(f"{self.name}: call build() (or load()) before search()")
        return self._labels


def _label(labels: LabelEncoding, attr: str, value: object) -> int:
    """The label of `attr == value`; a value no item has becomes a label no item carries."""
    token = labels.lookup(attr, value)
    return labels.label_count if token == NO_LABEL else token


def _labels_path(path: str | Path) -> Path:
    return Path(f"{path}.labels")


def _prepared(name: str, filters: Any, kind: type) -> Any:
    if not isinstance(filters, kind):
        raise MethodError(f"{name}: search takes what prepare_filters returned, got {type(filters).__name__}")
    return filters
