"""The method protocol every filtered-search method implements.

A method is constructed with its build parameters (no work in the constructor),
`build` indexes a dataset (timed by the runner), and `search` answers a batch of
queries, each with its own filter, for one set of search parameters.
"""

from __future__ import annotations

import importlib.util
import shutil
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from fanns_bench.filters.predicates import OPS, Predicate, ops_used

if TYPE_CHECKING:
    from fanns_bench.data.dataset import Dataset

ANY_FILTER = frozenset(OPS | {"none"})


@dataclass
class FilterBatch:
    """The filters of a query batch: each query's predicate and its matching ids.

    `match_ids[i]` is the sorted int64 array of items satisfying `predicates[i]`
    (computed by the harness, outside the timed region). Methods that filter by
    id sets use it; methods that translate predicates (SQL, payload filters) use
    `predicates`. Unfiltered queries have predicate `None` and all ids.
    """

    predicates: list[Predicate | None]
    match_ids: list[np.ndarray]
    num_items: int
    _bitmaps: dict[int, np.ndarray] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.predicates)

    def mask(self, i: int) -> np.ndarray:
        """Boolean mask over all items for query `i`."""
        mask = np.zeros(self.num_items, dtype=bool)
        mask[self.match_ids[i]] = True
        return mask

    def bitmap(self, i: int) -> np.ndarray:
        """Packed bitmap (1 bit per item, least significant bit first) for query `i`."""
        if i not in self._bitmaps:
            self._bitmaps[i] = np.packbits(self.mask(i), bitorder="little")
        return self._bitmaps[i]

    def subset(self, rows: np.ndarray | list[int]) -> FilterBatch:
        """The filters of the queries at `rows`."""
        return FilterBatch(
            [self.predicates[r] for r in rows], [self.match_ids[r] for r in rows], self.num_items
        )


class Method(ABC):
    """Base class of a filtered ANN method (see module docstring).

    Class attributes a method declares:
      name: registry name.
      capabilities: predicate ops it answers natively (subset of `ANY_FILTER`;
        `none` = unfiltered queries). The runner skips other shapes and records
        them as `unsupported`; a method never post-filters behind the user's back.
      requires: importable modules it needs; `executables`: programs on PATH.
      extra: the pip extra that installs `requires` (`pip install fanns-bench[extra]`).
      threading: how `threads` is used: `threads` (in-process), `single` (ignores it).
    """

    name: ClassVar[str] = ""
    capabilities: ClassVar[frozenset[str]] = ANY_FILTER
    requires: ClassVar[tuple[str, ...]] = ()
    executables: ClassVar[tuple[str, ...]] = ()
    extra: ClassVar[str | None] = None
    threading: ClassVar[str] = "threads"
    description: ClassVar[str] = ""

    def __init__(self, metric: str, threads: int = 1, **build_params: Any) -> None:
        self.metric = metric
        self.threads = threads
        self.build_params = build_params

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in sorted(self.build_params.items()))
        return f"{type(self).__name__}({params})"

    @abstractmethod
    def build(self, dataset: Dataset) -> None:
        """Index `dataset` (vectors, attributes, metric)."""

    @abstractmethod
    def search(self, queries: np.ndarray, filters: FilterBatch, k: int, **search_params: Any) -> np.ndarray:
        """Return int64 ids, shape (len(queries), k), padded with -1 where fewer were found."""

    def memory_bytes(self) -> int:
        """`index_bytes`: bytes of the index structures the method holds (graph, lists,
        codes, payload/attribute indexes), excluding the dataset's own vectors unless the
        method keeps its own copy of them (then the copy counts). 0 when unknown. Each
        method's README says how its figure is obtained (in memory, on disk, or reported
        by the engine)."""
        return 0

    def stats(self) -> dict[str, float]:
        """Counters of the last `search` (e.g. distance computations); empty if none."""
        return {}

    def close(self) -> None:
        """Release resources (servers, temporary files). Called even after a failure."""

    # --- Runner hooks: environment and threads -----------------------------------------
    fixed_thread_pool: ClassVar[bool] = False
    """True when the engine sizes its thread pool once per process (Lance): the runner
    then gives each query thread count its own worker, and the build runs at that count."""

    def prepare_environment(self, dataset: Dataset | None = None) -> None:
        """One-time set-up before the build timer starts (create an environment, start a
        worker or a server sized for `dataset`). Not part of `build_seconds`; `build` must
        still work without it. Default: nothing."""

    def set_query_threads(self, threads: int) -> None:
        """Search with `threads` threads from now on (called by the runner before each
        point). Engines whose pools are sized when they open override it to resize or reopen."""
        self.threads = threads

    def build_threads_used(self) -> int:
        """Threads the last `build` really used (recorded as `build_threads`); by default
        the `threads` the method was constructed with."""
        return self.threads

    def unsupported_reason(self, predicate: Predicate | None, kinds: dict[str, str]) -> str | None:
        """Why this method, with its build parameters, cannot answer `predicate` natively
        (`None` if it can). Asked before building, so it must not need the index.

        `kinds` maps attribute names to `categorical`/`ordered`/`set`. Methods whose
        support depends on attribute kinds or build parameters override this.
        """
        missing = ops_used(predicate) - self.capabilities
        if missing:
            return f"{self.name} does not support predicate ops {sorted(missing)}"
        return None

    @classmethod
    def missing_dependencies(cls) -> list[str]:
        """Modules and executables this method needs that are not installed."""
        missing = [m for m in cls.requires if importlib.util.find_spec(m) is None]
        return missing + [e for e in cls.executables if shutil.which(e) is None]


def pad_results(rows: list[np.ndarray], k: int) -> np.ndarray:
    """Stack per-query id arrays into an (nq, k) int64 matrix padded with -1."""
    out = np.full((len(rows), k), -1, dtype=np.int64)
    for i, row in enumerate(rows):
        row = np.asarray(row, dtype=np.int64)[:k]
        out[i, : len(row)] = row
    return out
