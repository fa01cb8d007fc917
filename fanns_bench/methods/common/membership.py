"""Fast `id -> bool` callables for libraries that filter through a Python callback.

The callback runs once per visited graph node, so its per-call cost matters: a bound
C method (`frozenset.__contains__`, `list.__getitem__`) costs far less than a lambda or
indexing a numpy array. Both return a real `bool`, which strict bindings require
(kannolo treats a returned `int` 1 as false).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

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
