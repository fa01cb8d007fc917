"""`dsg`: the dynamic segment graph (Peng et al., VLDB 2025) in fanns-bench's own core.

The graph lives in C++ (`cpp/dsg`); this module declares the parameters and hands the
shared segment-graph adapter the core's class. See README.md.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fanns_bench.methods.common.segment_graph_method import (
    ATTRIBUTE,
    SEARCH_PARAMETERS,
    SegmentGraphMethod,
)
from fanns_bench.methods.params import Param


class Dsg(SegmentGraphMethod):
    """DSG: every edge carries the rectangle of query ranges it is valid for."""

    name = "dsg"
    description = "DSG dynamic segment graph (own C++ core): range filters on one ordered attribute"
    core_class = "DsgIndex"

    build_parameters = {
        "attribute": ATTRIBUTE,
        "M": Param(int, 24, "HNSW degree of the candidate graph; most neighbours one range keeps", minimum=2),
        "ef_construction": Param(int, 200, "HNSW beam while inserting", minimum=1),
        "ef_max": Param(int, 500, "candidate beam per item before the range compression", minimum=1),
        "alpha": Param(float, 1.0, "pruning: c is dropped if d(c, kept) < d(c, item) / alpha", minimum=1.0),
        "seed": Param(int, 2025, "random seed of the HNSW level assignment", minimum=0),
    }
    search_parameters = SEARCH_PARAMETERS

    def _build_core(self, index: Any, vectors: np.ndarray) -> None:
        # The candidate graph is sequential; the per-item compression uses the build threads
        # and gives the same graph for any thread count.
        index.build(vectors, self.threads)
