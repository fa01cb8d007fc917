"""The method protocol every filtered-search method implements (see docs/adding-a-method.md).

A method is constructed with its build parameters (checked against its declaration; no work
in the constructor), `build` indexes a dataset (timed by the runner), `prepare_filters`
turns a batch's predicates into the method's own filter input, and `search` answers a batch
of queries with that input for one set of search parameters.

Timing: `qps` covers `prepare_filters` + `search` (what a user pays end to end);
`qps_given_filter` covers `search` alone, with the filter input prepared beforehand.
"""

from __future__ import annotations

import importlib.util
import shutil
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from fanns_bench.filters.attribute_index import AttributeIndex
from fanns_bench.filters.estimate import batch_counts, search_ranges, selectivity
from fanns_bench.filters.predicates import LEAVES, OPS, Eq, Predicate, Range, ops_used
from fanns_bench.methods.params import Param, resolve

if TYPE_CHECKING:
    from fanns_bench.data.dataset import Dataset

ANY_FILTER = frozenset(OPS | {"none"})
#: values of `Method.deterministic_build`
DETERMINISM = ("always", "one_thread", "never", "unknown")


_LEAF_FORM = ("leaf form", None)  # FilterBatch.memo's key of `leaf_form`'s answer
_LEAVES = frozenset(LEAVES.values())


@dataclass(frozen=True)
class FilterBatch:
    """The filters of a query batch, as the harness hands them to `Method.prepare_filters`.

    `predicates[i]` is query i's predicate (`None`: unfiltered). Queries sharing a predicate
    are grouped once: `distinct` holds each distinct predicate of the batch and
    `set_of_query[i]` the index of query i's predicate in `distinct`. `attributes` is the
    dataset's attribute index; `match_ids()` evaluates each distinct predicate with it. What
    a batch evaluates or positions is computed once per batch (`matches`, `positions`, kept in
    `memo`), so a router counting a predicate and the method it routes to share the work.
    Nothing is cached between batches: each timed repetition gets a fresh batch.
    """

    predicates: tuple[Predicate | None, ...]
    distinct: tuple[Predicate | None, ...]
    set_of_query: np.ndarray
    attributes: AttributeIndex
    memo: dict[tuple[str, Any], Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(
        cls,
        predicates: Sequence[Predicate | None],
        attributes: AttributeIndex,
        memo: dict[tuple[str, Any], Any] | None = None,
    ) -> FilterBatch:
        """Group `predicates` by distinct predicate; `memo`: that of a batch these predicates
        come from (shared, not copied)."""
        position: dict[Predicate | None, int] = {}
        set_of_query = np.array([position.setdefault(p, len(position)) for p in predicates], dtype=np.int64)
        return cls(tuple(predicates), tuple(position), set_of_query, attributes, {} if memo is None else memo)

    def matches(self, predicate: Predicate | None) -> np.ndarray:
        """Sorted int64 ids satisfying `predicate`, evaluated once per batch (read-only)."""
        key = ("matches", predicate)
        found = self.memo.get(key)  # one lookup (one hash of the predicate) when kept
        if found is None:
            found = self.memo[key] = self._evaluate(predicate)
        return found

    def _evaluate(self, predicate: Predicate | None) -> np.ndarray:
        """`attributes.evaluate`, except for an equality on an ordered attribute whose
        positions `selectivities` kept (as the range [value, value]): its slice of the sorted
        order, sorted, as evaluation finds it, without a second search."""
        if type(predicate) is Eq:
            bounds = self.memo.get(("positions", Range(predicate.attr, predicate.value, predicate.value)))
            if bounds is not None:
                return np.sort(self.attributes.sorted_order(predicate.attr)[bounds[0] : bounds[1]])
        return self.attributes.evaluate(predicate)

    def positions(self, predicate: Range) -> tuple[int, int]:
        """`predicate`'s half-open positions in its attribute's sorted order, once per batch."""
        key = ("positions", predicate)
        found = self.memo.get(key)
        if found is None:
            bounds = self.attributes.position_range(predicate.attr, predicate.low, predicate.high)
            found = self.memo[key] = bounds
        return found

    @property
    def num_items(self) -> int:
        return self.attributes.num_items

    def __len__(self) -> int:
        return len(self.predicates)

    def selectivity(self, predicate: Predicate | None) -> float:
        """Share of the items matching `predicate`, from this batch's `positions`/`matches`."""
        return selectivity(self.attributes, predicate, self.matches, self.positions)

    def selectivities(self) -> np.ndarray:
        """`selectivity` of each distinct predicate, counted one form at a time
        (`estimate.batch_counts`); the positions and posting lists it looks up are kept in
        `memo`, as `positions`/`matches` keep theirs: the ranges' as one table per attribute
        (`ranges_table`), an ordered equality's as the range [value, value]."""
        if self.num_items == 0:
            return np.ones(len(self.distinct))
        form = self.leaf_form()
        if form is not None and form[0] == Range.op:  # a range cell: one pair of searches, no grouping
            starts, stops = self.range_table(form[1])
            return (stops - starts) / self.num_items  # (within the timed pass: no BatchCounts)
        found = batch_counts(self.attributes, self.distinct, self.matches)
        for attr, (starts, stops) in found.tables.items():  # read by `ranges_table`
            self.memo[("positions table", attr)] = (self.distinct, starts, stops)
        for predicate, bounds in found.positions:
            self.memo.setdefault(("positions", predicate), bounds)
        for predicate, ids in found.postings:
            self.memo.setdefault(("matches", predicate), ids)
        return found.counts / self.num_items

    def leaf_form(self) -> tuple[str, str] | None:
        """(op, attribute) when every distinct predicate of the batch is a leaf of that op on
        that attribute (a cell of a leaf filter type: their `form_key`), else None; looked at
        once a batch."""
        held = self.memo.get(_LEAF_FORM)
        if held is not None and held[0] is self.distinct:
            return held[1]
        form = _one_leaf_form(self.distinct)
        self.memo[_LEAF_FORM] = (self.distinct, form)
        return form

    def range_table(self, attr: str) -> tuple[np.ndarray, np.ndarray]:
        """The positions (starts, stops) on `attr` of a range cell's distinct predicates (every
        one a `Range` on `attr`), with one pair of searches, kept for `ranges_table` (the
        method a router hands the batch to reads them there)."""
        starts, stops = search_ranges(self.attributes, attr, self.distinct)
        self.memo[("positions table", attr)] = (self.distinct, starts, stops)
        return starts, stops

    def ranges_table(self, attr: str) -> tuple[np.ndarray, np.ndarray] | None:
        """The positions on `attr` that `selectivities` found for this batch's distinct
        predicates ((starts, stops), int64, -1 for the others), or None (not counted, or
        counted on the batch this one is a `subset` of: its rows are that batch's)."""
        held = self.memo.get(("positions table", attr))
        return held[1:] if held is not None and held[0] is self.distinct else None

    def range_positions(self, attr: str, rows: list[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """`positions` of the ranges on `attr` at `rows` of `distinct` (None: all of them, a
        range cell's), as (starts, stops) int64: from `selectivities`' table when it counted
        this batch, else those `positions` kept, the rest with one pair of searches for them
        all (`AttributeIndex.position_ranges`)."""
        held = self.ranges_table(attr)
        if held is not None:
            return held if rows is None else (held[0][rows], held[1][rows])
        kept_some = len(self.memo) > (_LEAF_FORM in self.memo)  # some may have been found one by one
        if rows is None and not kept_some:  # a range cell nobody counted: all at once
            return search_ranges(self.attributes, attr, self.distinct)
        rows = list(range(len(self.distinct))) if rows is None else rows
        starts, stops = np.empty(len(rows), dtype=np.int64), np.empty(len(rows), dtype=np.int64)
        searched = list(range(len(rows)))
        if kept_some:
            searched = []
            for j, i in enumerate(rows):
                kept = self.memo.get(("positions", self.distinct[i]))
                if kept is None:
                    searched.append(j)
                else:
                    starts[j], stops[j] = kept
        if searched:
            ranges = [self.distinct[rows[j]] for j in searched]
            starts[searched], stops[searched] = search_ranges(self.attributes, attr, ranges)
        return starts, stops

    def subset(self, rows: np.ndarray) -> FilterBatch:
        """The batch of queries `rows` (in that order), sharing this batch's `memo`: what
        `FilterBatch.of` gives their predicates, grouped from this batch's groups (no hashing)."""
        sets = self.set_of_query[rows]
        kept, first = np.unique(sets, return_index=True)
        kept = kept[np.argsort(first)]  # distinct predicates in order of first appearance
        renumber = np.empty(len(self.distinct), dtype=np.int64)
        renumber[kept] = np.arange(len(kept))
        predicates = tuple(self.predicates[i] for i in rows.tolist())
        distinct = tuple(self.distinct[i] for i in kept.tolist())
        return FilterBatch(predicates, distinct, renumber[sets], self.attributes, self.memo)

    def match_ids(self) -> list[np.ndarray]:
        """Sorted int64 ids satisfying each distinct predicate (read-only; do not modify)."""
        return [self.matches(p) for p in self.distinct]


class Method(ABC):
    """Base class of a filtered ANN method (see module docstring).

    Class attributes a method declares:
      name: registry name.
      build_parameters / search_parameters: every parameter, typed, with default and meaning.
      capabilities: predicate ops it answers natively (subset of `ANY_FILTER`;
        `none` = unfiltered queries). The runner skips other shapes and records
        them as `unsupported`; a method never post-filters behind the user's back.
      requires: importable modules it needs; `executables`: programs on PATH.
      extra: the pip extra that installs `requires` (`pip install fanns-bench[extra]`).
      threading: how `threads` is used: `threads` (in-process), `single` (ignores it).
      deterministic_build: whether two builds of the same data with the same build
        parameters give the same index (the same ids for every query): `always`,
        `one_thread` (when the build runs on one thread), `never`, or `unknown` (not
        declared; the default). `nondeterminism` says why (for `one_thread`/`never`).
        `deterministic()` answers it for one build; see docs/adding-a-method.md.
    """

    name: ClassVar[str] = ""
    build_parameters: ClassVar[dict[str, Param]] = {}
    search_parameters: ClassVar[dict[str, Param]] = {}
    capabilities: ClassVar[frozenset[str]] = ANY_FILTER
    requires: ClassVar[tuple[str, ...]] = ()
    executables: ClassVar[tuple[str, ...]] = ()
    extra: ClassVar[str | None] = None
    threading: ClassVar[str] = "threads"
    description: ClassVar[str] = ""
    deterministic_build: ClassVar[str] = "unknown"
    nondeterminism: ClassVar[str] = ""
    revision: ClassVar[int] = 0
    """Raised when a first-party method's results change at the same parameters (a fix, a
    fidelity change): part of its rows' keys (`MethodSpec.version`), so a results folder
    measures it again instead of keeping rows of the old behaviour. 0 adds nothing.
    tests/methods/test_method_revisions.py pins each method package's code, so a change there
    fails until someone decides whether it needs a new revision."""
    approximate_filter: ClassVar[bool] = False
    """True when the method's published algorithm may return ids outside a query's filter
    (NHQ's fusion distance). Its rows then report the violations; a method that does not
    declare it and returns such ids gets `invalid` rows (see `filters_approximately`)."""

    def __init__(self, metric: str, threads: int = 1, **build_params: Any) -> None:
        self.metric = metric
        self.threads = threads
        self.build_params = resolve(self.name, "build", self.build_parameters, build_params)

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in sorted(self.build_params.items()))
        return f"{type(self).__name__}({params})"

    @classmethod
    def search_params(cls, given: dict[str, Any]) -> dict[str, Any]:
        """`given` search parameters checked and completed with the declared defaults."""
        return resolve(cls.name, "search", cls.search_parameters, given)

    @classmethod
    def filters_approximately(cls, search_params: dict[str, Any]) -> bool:
        """Whether a search with `search_params` may return ids outside the filter by
        design; default `approximate_filter`. Methods where a parameter decides override it."""
        return cls.approximate_filter

    @abstractmethod
    def build(self, dataset: Dataset) -> None:
        """Index `dataset` (vectors, attributes, metric)."""

    def prepare_filters(self, filters: FilterBatch) -> Any:
        """Turn the batch's predicates into this method's filter input (id sets, bitmaps,
        labels, SQL, engine filters ...). Timed in `qps`, done beforehand for
        `qps_given_filter`. Must not depend on query vectors. Default: the batch itself."""
        return filters

    @abstractmethod
    def search(self, queries: np.ndarray, filters: Any, k: int, **search_params: Any) -> np.ndarray:
        """Return int64 ids, shape (len(queries), k), padded with -1 where fewer were found.

        `filters` is what `prepare_filters` returned for this batch.
        """

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

    def set_build_threads(self, threads_for: Callable[[type[Method]], int]) -> None:
        """The runner's build thread rule, `threads_for(method class)`: the threads it builds
        that class on alone (`runner.deterministic_builds`: one for a `one_thread` class).
        Called once, before `prepare_environment`. Default: nothing (this method builds on
        its `threads`); a method that builds others (the router) builds each on its count."""

    def set_query_threads(self, threads: int) -> None:
        """Search with `threads` threads from now on (called by the runner before each
        point). Engines whose pools are sized when they open override it to resize or reopen."""
        self.threads = threads

    def build_threads_used(self) -> int:
        """Threads the last `build` really used (recorded as `build_threads`); by default
        the `threads` the method was constructed with."""
        return self.threads

    def deterministic(self) -> bool:
        """Whether this build (its parameters and `build_threads_used()`) is identical run to
        run, as the class declares (`deterministic_build`); recorded as `deterministic`.
        Override when it depends on a build parameter."""
        if self.deterministic_build == "always":
            return True
        return self.deterministic_build == "one_thread" and self.build_threads_used() == 1

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


def run_search(
    method: Method,
    queries: np.ndarray,
    predicates: Sequence[Predicate | None],
    attributes: AttributeIndex,
    k: int,
    **search_params: Any,
) -> np.ndarray:
    """One untimed batch search from predicates to ids: prepare the filters, then search
    with the search parameters checked and completed with their defaults."""
    prepared = method.prepare_filters(FilterBatch.of(predicates, attributes))
    return method.search(queries, prepared, k, **method.search_params(search_params))


def pad_results(rows: list[np.ndarray], k: int) -> np.ndarray:
    """Stack per-query id arrays into an (nq, k) int64 matrix padded with -1."""
    out = np.full((len(rows), k), -1, dtype=np.int64)
    for i, row in enumerate(rows):
        row = np.asarray(row, dtype=np.int64)[:k]
        out[i, : len(row)] = row
    return out


def _one_leaf_form(predicates: Sequence[Predicate | None]) -> tuple[str, str] | None:
    """(op, attribute) of `predicates` when all are leaves of one op on one attribute."""
    first = predicates[0] if predicates else None
    leaf = type(first)
    if leaf not in _LEAVES:
        return None
    attr = first.attr  # type: ignore[union-attr]
    for predicate in predicates:
        if type(predicate) is not leaf or predicate.attr != attr:  # type: ignore[union-attr]
            return None
    return leaf.op, attr
