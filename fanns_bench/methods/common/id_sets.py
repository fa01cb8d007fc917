"""Filter input of the methods that take id sets: the batch's distinct sets in CSR form.

Queries that share a predicate share one set, so a batch of 1,000 queries over three labels
passes three arrays, not 1,000. A query whose filter matches every item (or has no
predicate) gets set -1: it is searched unfiltered.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fanns_bench.filters.attribute_index import in_sorted
from fanns_bench.methods.base import FilterBatch


@dataclass(frozen=True)
class IdSets:
    """Distinct sorted id sets (`ids` concatenated, `offsets`) and each query's set (`rows`)."""

    ids: np.ndarray  # int64, the sets concatenated
    offsets: np.ndarray  # int64, len(sets) + 1
    rows: np.ndarray  # int64, one per query; -1 = unfiltered
    num_items: int

    @property
    def count(self) -> int:
        """How many distinct (filtering) sets there are."""
        return len(self.offsets) - 1

    @property
    def unfiltered(self) -> bool:
        return bool((self.rows < 0).all())

    def members(self, set_index: int) -> np.ndarray:
        """The sorted ids of set `set_index`."""
        return self.ids[self.offsets[set_index] : self.offsets[set_index + 1]]

    def queries_by_set(self) -> dict[int, np.ndarray]:
        """Query rows per set (-1: the unfiltered queries), in order of first appearance."""
        order = np.argsort(self.rows, kind="stable")
        sets, starts = np.unique(self.rows[order], return_index=True)
        groups = np.split(order, starts[1:])
        return {int(s): g for s, g in zip(sets, groups, strict=True)}

    def bitmaps(self) -> np.ndarray:
        """One packed bitmap row per set (uint8, ceil(N / 8) bytes, least significant bit first)."""
        out = np.zeros((self.count, (self.num_items + 7) // 8), dtype=np.uint8)
        for s in range(self.count):
            members = self.members(s)
            np.bitwise_or.at(out[s], members >> 3, (1 << (members & 7)).astype(np.uint8))
        return out

    def contains(self, set_index: int, candidates: np.ndarray) -> np.ndarray:
        """Which of `candidates` are in set `set_index` (-1 = every item): a binary search each."""
        if set_index < 0:
            return candidates >= 0
        return in_sorted(candidates, self.members(set_index))


def id_sets(filters: FilterBatch) -> IdSets:
    """Evaluate the batch's distinct predicates and lay them out as CSR id sets."""
    sets = filters.match_ids()
    filtering = [i for i, s in enumerate(sets) if len(s) < filters.num_items]
    remap = np.full(len(sets), -1, dtype=np.int64)
    remap[filtering] = np.arange(len(filtering))
    sizes = np.array([len(sets[i]) for i in filtering], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    ids = (
        np.concatenate([sets[i] for i in filtering]).astype(np.int64) if filtering else np.empty(0, np.int64)
    )
    return IdSets(np.ascontiguousarray(ids), offsets, remap[filters.set_of_query], filters.num_items)
