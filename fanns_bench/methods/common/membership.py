"""Fast `id -> bool` callables for libraries that filter through a Python callback.

The callback runs once per visited graph node, so its per-call cost matters: a bound
C method (`frozenset.__contains__`, `list.__getitem__`) costs far less than a lambda or
indexing a numpy array. Both return a real `bool`, which strict bindings require
(kannolo treats a returned `int` 1 as false).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from fanns_bench.methods.base import FilterBatch
from fanns_bench.methods.common.id_sets import IdSets, id_sets

SET_BELOW_FRACTION = 1 / 8


def membership_test(match_ids: np.ndarray, num_items: int) -> Callable[[int], bool]:
    """A callable telling whether an id is in the sorted array `match_ids`.

    Small match sets use a frozenset (built in time proportional to the matches);
    large ones a list of bools over all ids (built in time proportional to the items).
    """
    if len(match_ids) < num_items * SET_BELOW_FRACTION:
        return frozenset(match_ids.tolist()).__contains__
    mask = np.zeros(num_items, dtype=bool)
    mask[match_ids] = True
    return mask.tolist().__getitem__


@dataclass(frozen=True)
class MembershipTests:
    """The batch's id sets and one membership callable per set (the filter input of
    callback-filtering libraries)."""

    sets: IdSets
    tests: list[Callable[[int], bool]]
    sizes: list[int]


def membership_tests(filters: FilterBatch) -> MembershipTests:
    """Evaluate the batch's filters and build one membership test per distinct set."""
    sets = id_sets(filters)
    members = [sets.members(s) for s in range(sets.count)]
    return MembershipTests(
        sets, [membership_test(m, sets.num_items) for m in members], [len(m) for m in members]
    )
