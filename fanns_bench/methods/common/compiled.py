"""Base of the methods backed by one index object of our compiled core (`fanns_bench._core`):
the metric check, the core's errors turned into `MethodError`, query checks, distance counts,
memory, save/load of the index file and the "built yet?" guard, written once."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from fanns_bench.data.dataset import Dataset
from fanns_bench.errors import MethodError
from fanns_bench.methods.base import Method


class CompiledIndexMethod(Method):
    """A method whose index is a `fanns_bench._core.<core_class>` object held in `_index`."""

    requires: ClassVar[tuple[str, ...]] = ("fanns_bench._core",)
    threading = "threads"
    core_class: ClassVar[str] = ""
    # build parameters outside the core class's parameter struct (`param_fields()`): the
    # harness's own and the core's `storage`; tests/core/test_param_fields.py checks the rest
    harness_parameters: ClassVar[frozenset[str]] = frozenset({"storage", "deterministic"})

    def __init__(self, metric: str, threads: int = 1, **build_params: Any) -> None:
        super().__init__(metric, threads, **build_params)
        if metric not in ("ip", "l2"):
            raise MethodError(f"{self.name}: metric must be 'ip' or 'l2', got {metric!r}")
        self._index: Any = None
        self._stats: dict[str, float] = {}

    def core_fields(self) -> dict[str, Any]:
        """The build parameters that the core class declares as its fields, by name."""
        from fanns_bench import _core

        fields = getattr(_core, self.core_class).param_fields()
        return {name: self.build_params[name] for name, *_ in fields}

    def check_dataset_metric(self, dataset: Dataset) -> None:
        """Refuse a dataset whose metric is not the one the method was configured for."""
        if dataset.metric != self.metric:
            raise MethodError(
                f"{self.name}: built for metric {self.metric!r}, dataset {dataset.name!r} uses "
                f"{dataset.metric!r}"
            )

    def core_call(self, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call into the core; its argument errors (ValueError) become `MethodError`."""
        try:
            return call(*args, **kwargs)
        except ValueError as error:
            raise MethodError(f"{self.name}: {error}") from error

    def load_core(self, path: str | Path, core_class: str | None = None) -> Any:
        """Load a core index file; a missing or corrupt file becomes `MethodError`."""
        from fanns_bench import _core

        try:
            return getattr(_core, core_class or self.core_class).load(str(path))
        except RuntimeError as error:
            raise MethodError(f"{self.name}: {error}") from error

    def contiguous_queries(self, queries: np.ndarray, dim: int, count: int | None = None) -> np.ndarray:
        """`queries` as C-contiguous float32 (n, dim); `count`, when given, is the n expected."""
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        if queries.ndim != 2 or queries.shape[1] != dim or (count is not None and len(queries) != count):
            rows = "n" if count is None else str(count)
            raise MethodError(f"{self.name}: queries must have shape ({rows}, {dim}), got {queries.shape}")
        return queries

    def search_core(self, index: Any, *args: Any, entry: str = "search", **kwargs: Any) -> np.ndarray:
        """Run `index.search(*args, **kwargs)` (or the core's search named `entry`), keep its
        distance counts, return its ids."""
        ids, _, counts = self.core_call(getattr(index, entry), *args, **kwargs)
        self._stats = {"distance_computations": float(counts.mean()) if len(counts) else 0.0}
        return ids

    def memory_bytes(self) -> int:
        """Everything the core's index holds (vectors, graph, tables)."""
        return 0 if self._index is None else int(self._index.memory_bytes())

    def stats(self) -> dict[str, float]:
        """`distance_computations`: mean per query of the last `search`."""
        return dict(self._stats)

    def save(self, path: str | Path) -> None:
        """Write the index to `path` (one binary file)."""
        self._built().save(str(path))

    def close(self) -> None:
        self._index = None

    def _built(self) -> Any:
        if self._index is None:
            raise MethodError(f"{self.name}: call build() (or load()) before search()")
        return self._index


def save_sidecar(path: Path, payload: dict[str, Any]) -> None:
    """Pickle what the method needs besides the core's index file (vocabularies) to `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        pickle.dump(payload, handle)


def load_sidecar(method: str, path: Path, what: str, keys: tuple[str, ...]) -> dict[str, Any]:
    """Read back a `save_sidecar` file; a missing or damaged one is a `MethodError` naming it."""
    try:
        with open(path, "rb") as handle:
            saved = pickle.load(handle)
        return {key: saved[key] for key in keys}
    except (OSError, pickle.UnpicklingError, KeyError, TypeError, EOFError) as error:
        raise MethodError(f"{method}: cannot read the {what} {path}: {error}") from None
