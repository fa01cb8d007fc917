"""`filtered_vamana` and `stitched_vamana`: Filtered-DiskANN's two graphs (Gollapudi et al.,
WWW 2023) in fanns-bench's own core (`cpp/vamana`).

One index per label attribute (`label_attribute`: "category" or "category,tags"), as the
paper builds one per filter type. A query carries one label: `eq` on a scalar label
attribute or `contains` on a set label attribute. See README.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from fanns_bench.data.dataset import Dataset
from fanns_bench.errors import MethodError
from fanns_bench.filters.evaluate import CATEGORICAL, ORDERED, SET
from fanns_bench.filters.predicates import Contains, Eq, Predicate
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
from fanns_bench.methods.common.labels import UNFILTERED, LabelEncoding, QueryLabel, encode_labels
from fanns_bench.methods.params import Param

SEARCH_PARAMETERS = {
    "L_search": Param(int, 100, "search list size (DiskANN's L); at least k is used", minimum=1)
}


PAPER_PRUNE = Param(
    bool,
    False,
    "FilteredRobustPrune as the paper's Algorithm 3 (a selected s prunes c unless s lacks a label c "
    "shares with the node); False: as the authors' code (s must carry every label of c)",
)


@dataclass
class QueryRoutes:
    """Per query: which label attribute's index answers it, and its label there."""

    index: np.ndarray  # int64 per query
    labels: np.ndarray  # int64 per query: token, -1 (no item has it) or -2 (unfiltered)


class _Vamana(LabelMethod):
    """Shared adapter of both graphs; each has a core class of its own (`core_class`), whose
    keyword arguments are the method's build parameters less `harness_parameters`."""

    capabilities = frozenset({"eq", "contains", "none"})
    variant: ClassVar[str] = ""  # recorded in the saved directory's label vocabulary
    harness_parameters = frozenset({"label_attribute", "deterministic"})
    search_parameters = SEARCH_PARAMETERS

    def __init__(self, metric: str, threads: int = 1, **build_params: Any) -> None:
        super().__init__(metric, threads, **build_params)
        self._indexes: list[Any] = []
        self._encodings: list[LabelEncoding] = []
        self._kinds: dict[str, str] = {}

    def unsupported_reason(self, predicate: Predicate | None, kinds: dict[str, str]) -> str | None:
        """One label per query, on an attribute this build labels."""
        if predicate is None:
            return None if "none" in self.capabilities else f"{self.name} answers filtered queries only"
        scalar = isinstance(predicate, Eq) and kinds.get(predicate.attr) in (CATEGORICAL, ORDERED)
        listed = isinstance(predicate, Contains) and kinds.get(predicate.attr) == SET
        if not (scalar or listed):
            return (
                f"{self.name} answers one label per query: 'eq' on a categorical or ordered attribute, "
                f"or 'contains' on a set attribute; not {predicate!r}"
            )
        if predicate.attr not in self.label_attributes:
            return f"{self.name} was built on labels of {self.label_attributes}; not {predicate.attr!r}"
        return None

    def build(self, dataset: Dataset) -> None:
        from fanns_bench import _core

        self.check_dataset_metric(dataset)
        vectors = np.ascontiguousarray(dataset.vectors, dtype=np.float32)
        self._kinds = dict(dataset.attributes.kinds)
        self._encodings = [encode_labels(dataset.attributes, [name]) for name in self.label_attributes]
        self._indexes = []
        for encoding in self._encodings:
            index = self.core_call(
                getattr(_core, self.core_class), dataset.dimension, self.metric, **self.core_fields()
            )
            offsets, tokens = _item_labels(encoding)
            self.core_call(
                index.build, vectors, offsets, tokens, encoding.label_count, self.build_threads_used()
            )
            self._indexes.append(index)

    def prepare_filters(self, filters: FilterBatch) -> QueryRoutes:
        """Each query's (index, label): one visitor walk per distinct predicate of the batch."""
        routes = np.array(
            [(0, UNFILTERED) if p is None else self._route(p) for p in filters.distinct], dtype=np.int64
        ).reshape(-1, 2)
        rows = routes[filters.set_of_query]
        return QueryRoutes(np.ascontiguousarray(rows[:, 0]), np.ascontiguousarray(rows[:, 1]))

    def _route(self, predicate: Predicate) -> tuple[int, int]:
        """(the index of the predicate's label attribute, the query's label there)."""
        attr = getattr(predicate, "attr", None)
        number = next((i for i, e in enumerate(self._encodings) if attr in e.value_types), None)
        if number is None:
            raise MethodError(f"{self.name}: built on labels of {self.label_attributes}, not {attr!r}")
        try:
            return number, QueryLabel(self._encodings[number], self._kinds).visit(predicate)
        except UnsupportedPredicate as error:
            raise MethodError(f"{self.name}: {error}") from None

    def search(self, queries: np.ndarray, filters: QueryRoutes, k: int, **search_params: Any) -> np.ndarray:
        params = self.search_params(search_params)
        self._built()
        routes = filters
        queries = self.contiguous_queries(queries, self._indexes[0].dim)
        if len(routes.labels) != len(queries):
            raise MethodError(f"{self.name}: {len(routes.labels)} filters for {len(queries)} queries")
        ids = np.full((len(queries), k), -1, dtype=np.int64)
        counts = np.zeros(len(queries), dtype=np.float64)
        for number, index in enumerate(self._indexes):
            rows = np.flatnonzero(routes.index == number)
            if len(rows) == 0:
                continue
            subset = queries if len(rows) == len(queries) else np.ascontiguousarray(queries[rows])
            found, _, count = self.core_call(
                index.search,
                subset,
                np.ascontiguousarray(routes.labels[rows]),
                k,
                params["L_search"],
                self.threads,
            )
            ids[rows] = found
            counts[rows] = count
        self._stats = {"distance_computations": float(counts.mean()) if len(counts) else 0.0}
        return ids

    def memory_bytes(self) -> int:
        """Vectors (one copy per label attribute's index), labels and graphs held by the core."""
        return int(sum(index.memory_bytes() for index in self._indexes))

    def save(self, path: str | Path) -> None:
        """Write the indexes and the label vocabulary into the directory `path`."""
        directory = Path(path)
        self._built()
        save_encodings(directory, self._encodings, {"kinds": self._kinds, "variant": self.variant})
        for number, index in enumerate(self._indexes):
            index.save(str(directory / f"index{number}.bin"))

    def load(self, path: str | Path) -> None:
        """Replace the indexes by those saved in `path` (instead of `build`)."""
        directory = Path(path)
        encodings, meta = load_encodings(self.name, directory)
        if meta.get("variant") != self.variant:
            raise MethodError(f"{self.name}: {path} holds a {meta.get('variant')!r} index")
        indexes = [self.load_core(directory / f"index{i}.bin") for i in range(len(encodings))]
        self._encodings, self._kinds, self._indexes = encodings, meta["kinds"], indexes

    def close(self) -> None:
        self._indexes = []

    def _built(self) -> None:
        if not self._indexes:
            raise MethodError(f"{self.name}: call build() (or load()) before search()")


def _item_labels(encoding: LabelEncoding) -> tuple[np.ndarray, np.ndarray]:
    """(offsets, tokens) as int64 with each item's tokens sorted and unique (the core's input)."""
    items = len(encoding.offsets) - 1
    tokens = encoding.tokens.astype(np.int64)
    rows = np.repeat(np.arange(items), np.diff(encoding.offsets))
    order = np.lexsort((tokens, rows))
    rows, tokens = rows[order], tokens[order]
    keep = np.ones(len(tokens), dtype=bool)
    keep[1:] = (rows[1:] != rows[:-1]) | (tokens[1:] != tokens[:-1])
    rows, tokens = rows[keep], tokens[keep]
    offsets = np.zeros(items + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=items), out=offsets[1:])
    return offsets, np.ascontiguousarray(tokens)


class FilteredVamana(_Vamana):
    """FilteredVamana: label-aware insertion and FilteredRobustPrune with per-label start points."""

    name = "filtered_vamana"
    variant = "filtered"
    core_class = "FilteredVamanaIndex"
    description = "FilteredVamana (Filtered-DiskANN, own C++ core): one label per query"
    build_parameters = {
        "label_attribute": LABEL_ATTRIBUTE,
        "R": Param(int, 48, "out-degree bound", minimum=1),
        "L": Param(int, 100, "search list size while inserting (DiskANN's L and Lf)", minimum=1),
        "alpha": Param(float, 1.0, "RobustPrune's alpha", minimum=1.0),
        "unfiltered_pass": Param(
            bool, True, "also search from the medoid without the label restriction while inserting"
        ),
        "max_candidates": Param(int, 750, "candidates kept for one prune (DiskANN's maxc)", minimum=1),
        "paper_prune": PAPER_PRUNE,
        "seed": SEED,
        "deterministic": DETERMINISTIC,
    }


class StitchedVamana(_Vamana):
    """StitchedVamana: one Vamana graph per label, stitched and pruned to R_stitched."""

    name = "stitched_vamana"
    variant = "stitched"
    core_class = "StitchedVamanaIndex"
    capabilities = frozenset({"eq", "contains"})
    description = "StitchedVamana (Filtered-DiskANN, own C++ core): per-label graphs stitched"
    build_parameters = {
        "label_attribute": LABEL_ATTRIBUTE,
        "R_small": Param(int, 32, "degree of each label's Vamana graph", minimum=1),
        "L_small": Param(int, 80, "search list size while building each label's graph", minimum=1),
        "alpha": Param(float, 1.1, "alpha of each label's Vamana graph", minimum=1.0),
        "R_stitched": Param(int, 48, "degree after the final FilteredRobustPrune", minimum=1),
        "alpha_stitched": Param(
            float, 1.2, "alpha of the final FilteredRobustPrune (the authors' program fixes 1.2)", minimum=1.0
        ),
        "max_candidates": Param(int, 750, "candidates kept for one prune (DiskANN's maxc)", minimum=1),
        "paper_prune": PAPER_PRUNE,
        "seed": SEED,
        "deterministic": DETERMINISTIC,
    }
