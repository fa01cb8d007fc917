"""A `FilterBatch` as the compiled core takes it: distinct CSR id sets plus a set per query.

Queries that share a predicate share one id set, so a batch of 1,000 queries over three
labels passes three arrays, not 1,000. A query whose filter matches every item (or has no
predicate) gets set -1: the core searches it unfiltered.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fanns_bench.methods.base import FilterBatch


@dataclass(frozen=True)
class FilterSets:
    """Distinct id sets in CSR form (`ids`, `offsets`) and the set of each query (`rows`)."""

    ids: np.ndarray  # int64, the sets concatenated
    offsets: np.ndarray  # int64, len(sets) + 1
    rows: np.ndarray  # int64, one per query; -1 = unfiltered

    @property
    def unfiltered(self) -> bool:
        return bool((self.rows < 0).all())


def filter_sets(filters: FilterBatch) -> FilterSets:
    """Group the queries of `filters` by id set (same array, or same predicate and same ids)."""
    rows = np.full(len(filters), -1, dtype=np.int64)
    sets: list[np.ndarray] = []
    by_array: dict[int, int] = {}
    by_predicate: dict[object, list[int]] = {}
    for query, (predicate, match_ids) in enumerate(zip(filters.predicates, filters.match_ids, strict=True)):
        if len(match_ids) == filters.num_items:
            continue
        key = id(match_ids)
        if key not in by_array:
            by_array[key] = _find_or_add(sets, by_predicate, predicate, match_ids)
        rows[query] = by_array[key]
    sizes = np.array([len(s) for s in sets], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    ids = np.concatenate(sets).astype(np.int64, copy=False) if sets else np.empty(0, np.int64)
    return FilterSets(np.ascontiguousarray(ids), offsets, rows)


def _find_or_add(
    sets: list[np.ndarray],
    by_predicate: dict[object, list[int]],
    predicate: object,
    match_ids: np.ndarray,
) -> int:
    """Index of an existing set equal to `match_ids` under the same predicate, else a new one."""
    try:
        candidates = by_predicate.setdefault(predicate, []) if predicate is not None else []
    except TypeError:  # an unhashable predicate: no sharing by predicate
        candidates = []
    for index in candidates:
        if np.array_equal(sets[index], match_ids):
            return index
    sets.append(np.asarray(match_ids, dtype=np.int64))
    candidates.append(len(sets) - 1)
    return len(sets) - 1
