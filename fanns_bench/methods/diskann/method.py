"""Filtered-DiskANN (FilteredVamana) through diskannpy, in its own environment.

diskannpy 0.7.0 pins numpy==1.25.0, so it runs in a per-method environment behind a
worker (`fanns_bench.methods.envs`). The index is built on the labels of the attribute(s)
named by the build parameter `label_attribute` (one name, or several: "category,tags"):
a scalar attribute gives each item its value as label, a set attribute its elements.
It answers one label per query: `eq` on a scalar label attribute, `contains` on a set
label attribute, and unfiltered queries.
"""

from __future__ import annotations

import functools
import os
import time
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from fanns_bench.data.store import Dataset
from fanns_bench.errors import ConfigError, MethodError
from fanns_bench.filters.evaluate import CATEGORICAL, ORDERED, SET
from fanns_bench.filters.predicates import Contains, Eq, Predicate
from fanns_bench.methods.base import FilterBatch
from fanns_bench.methods.diskann.labels import LabelEncoding, encode_labels
from fanns_bench.methods.envs.isolated import IsolatedMethod

DEFAULT_BUILD = {"graph_degree": 64, "complexity": 100, "filter_complexity": 100, "alpha": 1.2}
DISTANCES = ("auto", "l2", "mips", "cosine")


class _class_or_instance:
    """A method bound to the instance when there is one, else to the class."""

    def __init__(self, function: Any) -> None:
        self.function = function

    def __get__(self, instance: object, owner: type) -> Any:
        return functools.partial(self.function, owner if instance is None else instance)


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
    capabilities = frozenset({"eq", "contains", "none"})
    environment: ClassVar[tuple[str, ...]] = ("diskannpy==0.7.0",)
    worker_handler = Path(__file__).with_name("worker.py")
    threading = "single"
    description = (
        "Filtered-DiskANN (FilteredVamana, diskannpy 0.7.0 in its own venv): one label per "
        "query, eq/contains on the build's label_attribute"
    )

    def __init__(self, metric: str, threads: int = 1, **build_params: Any) -> None:
        super().__init__(metric, threads, **build_params)
        unknown = set(build_params) - {*DEFAULT_BUILD, "label_attribute", "distance"}
        if unknown:
            raise ConfigError(
                f"diskann_filtered: unknown build parameters {sorted(unknown)}; expected "
                f"label_attribute, distance and {sorted(DEFAULT_BUILD)}"
            )
        self.label_attributes = _attribute_names(build_params.get("label_attribute"))
        self.distance = str(build_params.get("distance", "auto"))
        if self.distance not in DISTANCES:
            raise ConfigError(f"diskann_filtered: distance {self.distance!r} not in {DISTANCES}")
        self.params = {k: build_params.get(k, v) for k, v in DEFAULT_BUILD.items()}
        self._labels: LabelEncoding | None = None
        self._stats: dict[str, float] = {}
        self._index_bytes = 0

    @_class_or_instance
    def unsupported_reason(self_or_cls, predicate: Predicate | None, kinds: dict[str, str]):
        """Shape check on the class; on an instance also: the attribute is a label attribute."""
        reason = label_shape_reason(predicate, kinds)
        if reason is None and predicate is not None and isinstance(self_or_cls, DiskANNFiltered):
            if predicate.attr not in self_or_cls.label_attributes:
                return (
                    f"diskann_filtered was built on labels of {self_or_cls.label_attributes}; "
                    f"it cannot filter on {predicate.attr!r}"
                )
        return reason

    def build(self, dataset: Dataset) -> None:
        self._labels = encode_labels(dataset.attributes, self.label_attributes)
        workdir = self.worker.workdir
        np.save(workdir / "label_offsets.npy", self._labels.offsets)
        np.save(workdir / "label_tokens.npy", self._labels.tokens)
        reply = self.worker.call(
            "build",
            vectors=str(_vectors_file(dataset, workdir)),
            label_offsets=str(workdir / "label_offsets.npy"),
            label_tokens=str(workdir / "label_tokens.npy"),
            distance=self._diskann_distance(),
            threads=max(1, int(self.threads)),
            **self.params,
        )
        self._index_bytes = int(reply["index_bytes"])
        self._stats = {
            "library_build_seconds": reply["library_build_seconds"],
            "label_count": float(self._labels.label_count),
        }

    def search(self, queries: np.ndarray, filters: FilterBatch, k: int, **search_params: Any) -> np.ndarray:
        if self._labels is None:
            raise MethodError("diskann_filtered: search before build")
        complexity = int(search_params.get("complexity", 64))
        tokens = np.array([self._labels.token(p) for p in filters.predicates], dtype=np.int32)
        workdir = self.worker.workdir
        np.save(workdir / "queries.npy", np.ascontiguousarray(queries, dtype=np.float32))
        np.save(workdir / "query_labels.npy", tokens)
        started = time.perf_counter()
        reply = self.worker.call(
            "search",
            queries=str(workdir / "queries.npy"),
            labels=str(workdir / "query_labels.npy"),
            k=int(k),
            complexity=complexity,
            out=str(workdir / "ids.npy"),
        )
        ids = np.load(workdir / "ids.npy")
        self._stats["worker_search_seconds"] = reply["worker_search_seconds"]
        self._stats["call_seconds"] = time.perf_counter() - started
        return ids

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
