"""`digra`: DIGRA-style range search (after Jiang et al., SIGMOD 2025) in fanns-bench's own core.

A multi-way tree over the items sorted by one ordered attribute, a proximity graph per
tree node, and one beam search over the (at most two) nodes meeting a query range
(`cpp/digra`). Reconstructed from the paper: the authors' code could not be obtained.
See README.md.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fanns_bench.methods.common.ordered import PositionRanges
from fanns_bench.methods.common.sorted_range_index import SHARED_BUILD_PARAMETERS, SortedRangeIndexMethod
from fanns_bench.methods.params import Param


class Digra(SortedRangeIndexMethod):
    """DIGRA: a graph per node of a multi-way tree over the attribute; two graphs per query."""

    name = "digra"
    core_class = "DigraIndex"
    description = "DIGRA-style (own C++ core, reconstructed): multi-way tree with a graph per node"

    build_parameters = {
        "M": Param(int, 24, "most links per item in a node's graph", minimum=2, maximum=4096),
        "ef_construction": Param(int, 200, "beam width while inserting", minimum=1),
        "fanout": Param(int, 4, "children per tree node", minimum=2, maximum=1024),
        "leaf_size": Param(int, 64, "positions per leaf; ranges no longer are scanned exactly", minimum=1),
        **SHARED_BUILD_PARAMETERS,
    }
    search_parameters = {
        "ef_search": Param(int, 64, "beam width", minimum=1),
        "strict": Param(
            bool,
            True,
            "only in-range items enter the results (false: the closest items of the searched "
            "nodes, some outside the range; counted as filter_violations)",
        ),
    }

    @classmethod
    def filters_approximately(cls, search_params: dict[str, Any]) -> bool:
        """Non-strict search returns the closest items of the searched nodes, some out of range."""
        return not search_params.get("strict", True)

    def search(
        self, queries: np.ndarray, filters: PositionRanges, k: int, ef_search: int, strict: bool
    ) -> np.ndarray:
        """Range-filtered k-NN over the one or two tree nodes meeting each range."""
        return self._search(queries, filters, k, ef_search, strict)
