"""usearch HNSW with post-filtering: fetch k / selectivity candidates, keep the matching ones.

This is what users of usearch do, since its Python API takes no predicate. The
selectivity is each query's exact match fraction (the harness's match ids), i.e. an
oracle estimate; a deployment would estimate it from statistics.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from fanns_bench.data.dataset import Dataset
from fanns_bench.methods.base import ANY_FILTER, FilterBatch, Method
from fanns_bench.methods.usearch.common import add_rows, as_batch, new_index


class UsearchPostfilter(Method):
    """Unfiltered usearch HNSW search for `oversample * k / selectivity` candidates, then filter.

    Build params: `connectivity` (M), `expansion_add` (ef_construction). Search params:
    `ef` (expansion_search; raised to the candidate count when that is larger),
    `oversample`, `max_candidates` (cap). Rows are -1 padded when fewer candidates
    than k pass the filter: recall drops at low selectivity instead of being hidden.
    """

    name = "usearch_postfilter"
    capabilities = ANY_FILTER
    requires = ("usearch",)
    extra = "usearch"
    threading = "threads"
    description = "usearch HNSW + post-filtering with oversampling (k / selectivity, capped)"

    def __init__(
        self, metric: str, threads: int = 1, connectivity: int = 32, expansion_add: int = 100
    ) -> None:
        super().__init__(metric, threads, connectivity=connectivity, expansion_add=expansion_add)
        self._index: Any = None

    def build(self, dataset: Dataset) -> None:
        params = self.build_params
        self._index = new_index(
            self.metric, dataset.dimension, params["connectivity"], params["expansion_add"]
        )
        add_rows(self._index, dataset.vectors, np.arange(dataset.count), self.threads)

    def search(
        self,
        queries: np.ndarray,
        filters: FilterBatch,
        k: int,
        ef: int = 64,
        oversample: float = 1.0,
        max_candidates: int = 10_000,
    ) -> np.ndarray:
        out = np.full((len(queries), k), -1, dtype=np.int64)
        counts = [
            candidate_count(len(ids), filters.num_items, k, oversample, max_candidates)
            for ids in filters.match_ids
        ]
        self._candidates = 0
        for count in sorted(set(counts)):
            rows = [row for row, c in enumerate(counts) if c == count]
            if count == 0:
                continue
            self._index.expansion_search = max(ef, count)
            matches = self._index.search(queries[rows], count, threads=self.threads)
            keys, _, found_counts = as_batch(matches, len(rows))
            for position, row in enumerate(rows):
                found = keys[position, : found_counts[position]]
                kept = found[_member(found, filters.match_ids[row])][:k]
                out[row, : len(kept)] = kept
            self._candidates += int(found_counts.sum())
        return out

    def memory_bytes(self) -> int:
        """usearch's serialized index size (vectors + graph)."""
        return 0 if self._index is None else int(self._index.serialized_length)

    def stats(self) -> dict[str, float]:
        return {"candidates": float(getattr(self, "_candidates", 0))}


def candidate_count(matches: int, items: int, k: int, oversample: float, cap: int) -> int:
    """How many unfiltered neighbours to fetch: `oversample * k / selectivity`.

    Rounded up to a power of two (so queries share batched calls), capped at
    `max(cap, k)` and at the number of items; 0 when nothing matches.
    """
    if matches == 0:
        return 0
    wanted = math.ceil(oversample * k * items / matches)
    return min(1 << max(wanted - 1, 0).bit_length(), max(cap, k), items)


def _member(found: np.ndarray, match_ids: np.ndarray) -> np.ndarray:
    """Which of `found` are in the sorted array `match_ids`."""
    if not len(match_ids):
        return np.zeros(len(found), dtype=bool)
    positions = np.searchsorted(match_ids, found)
    positions[positions == len(match_ids)] = 0
    return match_ids[positions] == found
