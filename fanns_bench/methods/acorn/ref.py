"""`acorn_gamma_ref` and `acorn_1_ref`: ACORN as the authors' code behaves.

The same compiled core as `acorn_gamma` / `acorn_1`, in its reference mode: the graph and the
search of TAG-Research/ACORN (the library the benchmark paper's fork iffp/ACORN runs), so the
paper's ACORN numbers can be reproduced beside our improved variants. See README.md
("Reference variants").
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from fanns_bench.methods.acorn.method import GRAPH_DEGREE, SEED, STORAGES, _AcornMethod
from fanns_bench.methods.common.id_sets import IdSets
from fanns_bench.methods.params import Param

COMMON: dict[str, Param] = {
    "M": GRAPH_DEGREE,
    "seed": SEED,
    "storage": Param(str, "float32", "vector storage", choices=STORAGES),
    "drop_nearest_upper": Param(
        bool,
        True,
        "reproduce the reference's upper-level list keeping: a full list that receives a "
        "back-link drops its nearest entry (False: keeps the nearest, the bug-fixed reference)",
    ),
    "write_past_list": Param(
        bool,
        True,
        "with drop_nearest_upper, write that nearest entry one slot past the list, into the next "
        "list of the reference's flat layout (the node's next level or the next node's level 0), "
        "as the reference does (False: the entry is lost)",
    ),
    "deterministic": Param(bool, False, "single-threaded build, identical for a seed"),
}


class _AcornReference(_AcornMethod):
    """Shared adapter of the reference variants (`max_neighbors` does not apply)."""

    # 1: levels and insertion order from the reference's mt19937 generators; 2: the reference's
    # flat list layout and its write past a full upper-level list (write_past_list)
    revision = 2

    search_parameters: ClassVar[dict[str, Param]] = {
        "ef_search": Param(
            int, 16, "width of the level-0 candidate set (the reference's efSearch)", minimum=1
        )
    }

    def search(self, queries: np.ndarray, filters: IdSets, k: int, ef_search: int) -> np.ndarray:
        """Filtered search as the reference does it; a query without a predicate (or whose
        filter matches every item) takes the reference's unfiltered search."""
        return super().search(queries, filters, k, ef_search=ef_search, max_neighbors=0)


class AcornGammaRef(_AcornReference):
    """ACORN-γ as TAG-Research/ACORN builds and searches it.

    Build params: `M`, `gamma`, `M_beta` (the paper's medium grid: EM 16/10/24, R 32/12/24,
    EMIS 16/15/24), `seed`, `storage`, `drop_nearest_upper` and `write_past_list` (reproduce the
    reference's upper-level list bug; default True), `deterministic`. Search params: `ef_search`.
    """

    name = "acorn_gamma_ref"
    core_class = "AcornGammaRefIndex"
    description = "ACORN-γ as the reference code behaves (own C++ core, reference mode)"
    build_parameters: ClassVar[dict[str, Param]] = {
        **COMMON,
        "gamma": Param(int, 12, "neighbour-list expansion: M·γ candidates per node", minimum=2, maximum=1024),
        "M_beta": Param(int, 24, "uncompressed prefix of a level-0 list (<= 2·M·γ)", minimum=0),
    }


class Acorn1Ref(_AcornReference):
    """ACORN-1 as TAG-Research/ACORN builds and searches it (γ = 1, M_β = 2M by default, as
    in the authors' demo).

    Build params: `M`, `M_beta` (0 = 2M), `seed`, `storage`, `drop_nearest_upper`,
    `write_past_list`, `deterministic`. Search params: `ef_search`.
    """

    name = "acorn_1_ref"
    core_class = "Acorn1RefIndex"
    description = "ACORN-1 as the reference code behaves (own C++ core, reference mode)"
    build_parameters: ClassVar[dict[str, Param]] = {
        **COMMON,
        "M_beta": Param(int, 0, "uncompressed prefix of a level-0 list; 0 = 2M", minimum=0),
    }
