"""Filtered-DiskANN (FilteredVamana) through diskannpy, in its own environment.

diskannpy 0.7.0 pins numpy==1.25.0, so it runs in a per-method environment behind a
worker (`fanns_bench.envs`). One FilteredVamana index is built per attribute
named by the build parameter `label_attribute` (one name, or several: "category,tags"), as
the paper builds one index per filter type: a scalar attribute gives each item its value
as label, a set attribute its elements. It answers one label per query: `eq` on a scalar
label attribute, `contains` on a set label attribute (routed to that attribute's index),
and unfiltered queries.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from fanns_bench.data.dataset import Dataset
from fanns_bench.envs.isolated import IsolatedMethod
from fanns_bench.errors import ConfigError, MethodError
from fanns_bench.filters.evaluate import CATEGORICAL, ORDERED, SET
from fanns_bench.filters.predicates import Contains, Eq, Predicate
from fanns_bench.methods.base import FilterBatch
from fanns_bench.methods.common.labels import UNFILTERED, LabelEncoding, encode_labels
from fanns_bench.methods.params import Param

LIBRARY_BUILD = ("graph_degree", "complexity", "filter_complexity", "alpha")
DISTANCES = ("auto", "l2", "mips", "cosine")


def label_shape_reason(predicate: Predicate | None, kinds: dict[str, str]) -> str | None:
    """Why one label per query cannot express `predicate` (None if it can)."""
    if predicate is None:
        return None
    if isinstance(predicate, Eq) and kinds.get(predicate.attr) in (CATEGORICAL, ORDERED):
        return None
    if isinstance(predicate, Contains) and kinds.get(predicate.attr) == SET:
        return None
    return (
        "diskann_filtered answers one label per query: 'eq' on a categorical or ordered "
        f"attribute, or 'contains' on a set attribute; not {predicate!r}"
    )


class DiskANNFiltered(IsolatedMethod):
    """FilteredVamana (Gollapudi et al., WWW 2023) via diskannpy's memory index."""

    name = "diskann_filtered"
    deterministic_build = "one_thread"
    nondeterminism = "diskannpy's parallel build inserts points in thread-scheduling order"
    capabilities = frozenset({"eq", "contains", "none"})
    environment: ClassVar[tuple[str, ...]] = ("diskannpy==0.7.0",)
    worker_handler = Path(__file__).with_name("handler.py")
    threading = "single"
    description = (
        "Filtered-DiskANN (FilteredVamana, diskannpy 0.7.0 in its own venv): one label per "
        "query, eq/contains on the build's label_attribute"
    )

    build_parameters = {
        "label_attribute": Param(str, "", "attribute(s) whose values become labels, comma-separated"),
        "distance": Param(
            str, "auto", "diskannpy distance (auto: l2, exact for unit vectors)", choices=DISTANCES
        ),
        "graph_degree": Param(int, 64, "R: maximum out-degree", minimum=1),
        "complexity": Param(int, 100, "L: candidate list size while building", minimum=1),
        "filter_complexity": Param(int, 100, "candidate list size of the filtered build", minimum=1),
        "alpha": Param(float, 1.2, "robust-prune slack", minimum=1),
    }
    search_parameters = {"complexity": Param(int, 64, "L: candidate list size while searching", minimum=1)}

    def __init__(self, metric: str, threads: int = 1, **build_params: Any) -> None:
        super().__init__(metric, threads, **build_params)
        self.label_attributes = _attribute_names(self.build_params["label_attribute"])
        self.distance = self.build_params["distance"]
        self.params = {k: self.build_params[k] for k in LIBRARY_BUILD}
        self._labels: list[LabelEncoding] | None = None
        self._stats: dict[str, float] = {}
        self._index_bytes = 0

    def unsupported_reason(self, predicate: Predicate | None, kinds: dict[str, str]) -> str | None:
        """One label per query, on an attribute this build labels."""
        reason = label_shape_reason(predicate, kinds)
        if reason is None and predicate is not None:
            if predicate.attr not in self.label_attributes:
                return (
                    f"diskann_filtered was built on labels of {self.label_attributes}; "
                    f"it cannot filter on {predicate.attr!r}"
                )
        return reason

    def build(self, dataset: Dataset) -> None:
        self._labels = [encode_labels(dataset.attributes, [name]) for name in self.label_attributes]
        workdir = self.worker.workdir
        label_files = []
        for number, encoding in enumerate(self._labels):
            files = [workdir / f"label_offsets{number}.npy", workdir / f"label_tokens{number}.npy"]
            np.save(files[0], encoding.offsets)
            np.save(files[1], encoding.tokens)
            label_files.append([str(f) for f in files])
        reply = self.worker.call(
            "build",
            vectors=str(_vectors_file(dataset, workdir)),
            label_files=label_files,
            distance=self._diskann_distance(),
            threads=max(1, int(self.threads)),
            **self.params,
        )
        self._index_bytes = int(reply["index_bytes"])
        self._stats = {
            "library_build_seconds": reply["library_build_seconds"],
            "label_count": float(sum(e.label_count for e in self._labels)),
        }

    def prepare_filters(self, filters: FilterBatch) -> np.ndarray:
        """(label attribute index, label token) per query, translated once per predicate."""
        if self._labels is None:
            raise MethodError("diskann_filtered: search before build")
        routes = np.array([self._route(p) for p in filters.distinct], dtype=np.int32).reshape(-1, 2)
        return routes[filters.set_of_query]

    def search(self, queries: np.ndarray, filters: np.ndarray, k: int, complexity: int) -> np.ndarray:
        routes = filters
        workdir = self.worker.workdir
        np.save(workdir / "queries.npy", np.ascontiguousarray(queries, dtype=np.float32))
        np.save(workdir / "query_groups.npy", routes[:, 0])
        np.save(workdir / "query_labels.npy", routes[:, 1])
        started = time.perf_counter()
        reply = self.worker.call(
            "search",
            queries=str(workdir / "queries.npy"),
            groups=str(workdir / "query_groups.npy"),
            labels=str(workdir / "query_labels.npy"),
            k=int(k),
            complexity=complexity,
            out=str(workdir / "ids.npy"),
        )
        ids = np.load(workdir / "ids.npy")
        self._stats["worker_search_seconds"] = reply["worker_search_seconds"]
        self._stats["call_seconds"] = time.perf_counter() - started
        return ids

    def _route(self, predicate: Predicate | None) -> tuple[int, int]:
        """(index of the label attribute the predicate names, its label token)."""
        if predicate is None:
            return 0, UNFILTERED  # any index answers unfiltered queries: the first
        for number, encoding in enumerate(self._labels):
            if getattr(predicate, "attr", None) in encoding.value_types:
                return number, encoding.token(predicate)
        raise MethodError(
            f"diskann_filtered was built on labels of {self.label_attributes} and answers "
            f"'eq'/'contains' on them only, not {predicate!r}"
        )

    def memory_bytes(self) -> int:
        return self._index_bytes

    def stats(self) -> dict[str, float]:
        return dict(self._stats)

    def _diskann_distance(self) -> str:
        """`auto`: l2 for both metrics (for `ip` the store guarantees unit-norm items, so
        squared L2 ranks exactly like the inner product, and Vamana's pruning needs a metric)."""
        return "l2" if self.distance == "auto" else self.distance


def _attribute_names(value: Any) -> list[str]:
    """`label_attribute` as a list: one name, a comma-separated string, or a list."""
    names = value.split(",") if isinstance(value, str) else list(value or [])
    names = [str(n).strip() for n in names if str(n).strip()]
    if not names:
        raise ConfigError(
            "diskann_filtered needs the build parameter 'label_attribute': the attribute(s) "
            "whose values become labels, e.g. 'category' or 'category,tags'"
        )
    return names


def _vectors_file(dataset: Dataset, workdir: Path) -> Path:
    """The dataset's vectors.npy when it is the memory-mapped file, else a copy in `workdir`."""
    filename = getattr(dataset.vectors, "filename", None)
    if filename and os.path.isfile(filename):
        return Path(filename)
    target = workdir / "vectors.npy"
    np.save(target, np.ascontiguousarray(dataset.vectors, dtype=np.float32))
    return target
