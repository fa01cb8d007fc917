"""Exact pre-filtering: brute force over each query's matching items."""

from __future__ import annotations

import numpy as np

from fanns_bench.data.dataset import Dataset
from fanns_bench.methods.base import ANY_FILTER, FilterBatch, Method
from fanns_bench.methods.common.id_sets import IdSets, id_sets
from fanns_bench.scoring import scores, top_k

SCORE_BLOCK = 1 << 24  # scores computed at once (64 MiB of float32)


class ExactPrefilter(Method):
    """Evaluate the filter, then score every matching vector exactly (recall 1 by design).

    Queries sharing a filter are scored together against the gathered matching vectors.
    """

    name = "exact"
    deterministic_build = "always"
    capabilities = ANY_FILTER
    threading = "single"
    description = "exact pre-filter: brute force over the matching ids"

    def build(self, dataset: Dataset) -> None:
        self._vectors = dataset.vectors

    def prepare_filters(self, filters: FilterBatch) -> IdSets:
        return id_sets(filters)

    def search(self, queries: np.ndarray, filters: IdSets, k: int) -> np.ndarray:
        out = np.full((len(queries), k), -1, dtype=np.int64)
        for set_index, rows in filters.queries_by_set().items():
            ids = np.arange(filters.num_items) if set_index < 0 else filters.members(set_index)
            if not len(ids):
                continue
            candidates = np.asarray(self._vectors) if set_index < 0 else np.asarray(self._vectors[ids])
            step = max(1, SCORE_BLOCK // len(ids))  # bounded score matrix per block of queries
            for block in (rows[i : i + step] for i in range(0, len(rows), step)):
                positions, _ = top_k(scores(queries[block], candidates, self.metric), k)
                out[block, : positions.shape[1]] = ids[positions]
        return out

    def memory_bytes(self) -> int:
        """No index: the dataset's vectors are read in place."""
        return 0
