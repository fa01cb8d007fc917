"""Post-filtering, one way for every post-filter method: fetch candidates unfiltered, keep
the ones in the query's id set, fetch more (doubling) while fewer than k passed.

No method is told the exact selectivity: the first round fetches `oversample * k`
candidates for every query, later rounds double the count for the queries still short,
up to `max_candidates` (or every item). Rows stay -1 padded when the cap is reached:
that is the strategy's real recall cost, not hidden.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from fanns_bench.methods.common.id_sets import IdSets
from fanns_bench.methods.params import Param

#: search parameters every post-filter method declares
POSTFILTER_PARAMETERS = {
    "oversample": Param(float, 4.0, "first round fetches oversample * k candidates per query", minimum=1),
    "max_candidates": Param(int, 4096, "stop doubling at this many candidates per query", minimum=1),
}

#: search(queries, n) -> ids (len(queries), n), -1 padded: the method's unfiltered search
UnfilteredSearch = Callable[[np.ndarray, int], np.ndarray]


def postfilter_search(
    search: UnfilteredSearch,
    queries: np.ndarray,
    sets: IdSets,
    k: int,
    oversample: float,
    max_candidates: int,
) -> tuple[np.ndarray, int]:
    """(ids (nq, k) -1 padded, total candidates fetched) for a batch filtered by `sets`."""
    out = np.full((len(queries), k), -1, dtype=np.int64)
    cap = min(max(max_candidates, k), sets.num_items)
    pending = np.arange(len(queries))
    wanted = min(cap, max(k, math.ceil(oversample * k)))
    fetched = 0
    while len(pending):
        found = search(queries[pending], wanted)
        fetched += int((found >= 0).sum())
        short = []
        for row, candidates in zip(pending, found, strict=True):
            candidates = candidates[candidates >= 0]
            kept = candidates[sets.contains(int(sets.rows[row]), candidates)][:k]
            out[row, : len(kept)] = kept
            if len(kept) < k and len(candidates) == wanted and wanted < cap:
                short.append(row)
        pending, wanted = np.asarray(short, dtype=np.int64), min(cap, 2 * wanted)
    return out, fetched
