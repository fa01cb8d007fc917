"""`serf`: SeRF's 2D segment graph (Zuo et al., SIGMOD 2024) in fanns-bench's own core.

The graph lives in C++ (`cpp/serf`); this module declares the parameters and hands the
shared segment-graph adapter the core's class. See README.md.
"""

from __future__ import annotations

from fanns_bench.methods.common.segment_graph_method import (
    ATTRIBUTE,
    SEARCH_PARAMETERS,
    SegmentGraphMethod,
)
from fanns_bench.methods.params import Param


class Serf(SegmentGraphMethod):
    """SeRF: items inserted in attribute order; edges carry the left bounds they serve."""

    name = "serf"
    description = "SeRF 2D segment graph (own C++ core): range filters on one ordered attribute"
    core_class = "SerfIndex"

    build_parameters = {
        "attribute": ATTRIBUTE,
        "index_k": Param(int, 100, "out-degree bound of each segment (HNSW's M at every level)", minimum=2),
        "ef_construction": Param(int, 100, "upper-level beam; candidates examined per segment", minimum=1),
        "ef_max": Param(
            int, 500, "level-0 candidate beam while inserting (all ever in it are kept)", minimum=1
        ),
        "seed": Param(int, 100, "random seed of the HNSW level assignment", minimum=0),
    }
    search_parameters = SEARCH_PARAMETERS

    def build_threads_used(self) -> int:
        """Insertion in attribute order is sequential: one thread, whatever `threads` is."""
        return 1
