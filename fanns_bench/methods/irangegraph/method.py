"""`irangegraph`: iRangeGraph (Xu et al., SIGMOD 2025) in fanns-bench's own core.

Elemental graphs on a segment tree over the items sorted by one ordered attribute, merged
on the fly for each query range (`cpp/irangegraph`). See README.md.
"""

from __future__ import annotations

import numpy as np

from fanns_bench.methods.common.ordered import PositionRanges
from fanns_bench.methods.common.sorted_range_index import SHARED_BUILD_PARAMETERS, SortedRangeIndexMethod
from fanns_bench.methods.params import Param


class IRangeGraph(SortedRangeIndexMethod):
    """iRangeGraph: range-dedicated graphs improvised from a segment tree's elemental graphs."""

    name = "irangegraph"
    core_class = "IRangeGraphIndex"
    description = "iRangeGraph (own C++ core): segment-tree elemental graphs merged per query range"

    build_parameters = {
        "M": Param(
            int,
            32,
            "most links per item and tree layer (and links taken per expansion)",
            minimum=1,
            maximum=4096,
        ),
        "ef_construction": Param(int, 200, "beam width while inserting", minimum=1),
        **SHARED_BUILD_PARAMETERS,
    }
    search_parameters = {
        "ef_search": Param(
            int, 64, "beam width (the beam also keeps one entry per covering tree node)", minimum=1
        ),
    }

    def search(self, queries: np.ndarray, filters: PositionRanges, k: int, ef_search: int) -> np.ndarray:
        """Range-filtered k-NN; every returned id lies in its query's range."""
        return self._search(queries, filters, k, ef_search)
