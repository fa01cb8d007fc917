"""A query's selectivity from the attribute index, without materialising what it can count.

A range on an ordered attribute is the width of its slice of the sorted order (two binary
searches); an equality or element test is the length of a posting list (a view); other
forms are evaluated. The figure is exact, not sampled.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from fanns_bench.filters.attribute_index import AttributeIndex
from fanns_bench.filters.predicates import Predicate, Range


def selectivity(
    attributes: AttributeIndex,
    predicate: Predicate | None,
    evaluate: Callable[[Predicate], np.ndarray] | None = None,
    positions: Callable[[Range], tuple[int, int]] | None = None,
) -> float:
    """Share of the items matching `predicate` (1 for no predicate). `evaluate` and
    `positions` (default: the attribute index's) give a form's matches and a range's positions:
    a batch's `FilterBatch.matches`/`positions`, so the method answering the query reuses them."""
    if predicate is None or attributes.num_items == 0:
        return 1.0
    if isinstance(predicate, Range):
        if positions is None:
            start, stop = attributes.position_range(predicate.attr, predicate.low, predicate.high)
        else:
            start, stop = positions(predicate)
        return (stop - start) / attributes.num_items
    return len((evaluate or attributes.evaluate)(predicate)) / attributes.num_items
