"""`acorn_gamma_ref` and `acorn_1_ref`: ACORN as the authors' code behaves.

The same compiled core as `acorn_gamma` / `acorn_1`, in its reference mode: the graph and the
search of TAG-Research/ACORN (the library the benchmark paper's fork iffp/ACORN runs), so the
paper's ACORN numbers can be reproduced beside our improved variants. See README.md
("Reference variants").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from fanns_bench.methods.acorn.method import GRAPH_DEGREE, SEED, STORAGES, _AcornMethod
from fanns_bench.methods.base import FilterBatch
from fanns_bench.methods.common.id_sets import IdSets, id_sets
from fanns_bench.methods.params import Param

# Byte maps are built when they take at most this many bytes, or no more than the id sets
# themselves (8 bytes per member: sets matching >= 1/8 of the items on average), so a batch's
# filter input at most doubles; a larger batch keeps the id sets, filled per query.
BYTE_MAP_BUDGET = 64 * 2**20

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


@dataclass(frozen=True)
class ByteSets:
    """A batch's id sets and, within the budget, the same sets as a byte per item
    (`_core.IdByteMaps`, validated and written once), which the search reads as they are."""

    sets: IdSets
    maps: Any | None


def byte_sets(filters: FilterBatch, budget: int = BYTE_MAP_BUDGET) -> ByteSets:
    """The batch's id sets, and their byte maps when `sets x items` bytes stay within
    `budget` or within the id sets' own bytes (None otherwise, or when nothing filters)."""
    from fanns_bench import _core

    sets = id_sets(filters)
    size = sets.count * sets.num_items
    if sets.count == 0 or size > max(budget, sets.ids.nbytes):
        return ByteSets(sets, None)
    return ByteSets(sets, _core.IdByteMaps(sets.ids, sets.offsets, sets.num_items))


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

    def prepare_filters(self, filters: FilterBatch) -> ByteSets:
        """The batch's id sets and, within BYTE_MAP_BUDGET, a byte per item and set, as the
        reference's driver hands its search a byte per item (built before its timer; ours is
        timed in `qps`, not in `qps_given_filter`)."""
        return byte_sets(filters)

    def search(self, queries: np.ndarray, filters: ByteSets, k: int, ef_search: int) -> np.ndarray:
        """Filtered search as the reference does it; a query without a predicate (or whose
        filter matches every item) takes the reference's unfiltered search."""
        if filters.maps is None:
            return super().search(queries, filters.sets, k, ef_search=ef_search, max_neighbors=0)
        index, queries = self.checked_batch(queries, filters.sets)
        return self.search_core(
            index, queries, k, ef_search, self.threads, filters.maps, filters.sets.rows, entry="search_bytes"
        )


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
