"""Filter input of the range methods that index items in attribute order (SeRF, iRangeGraph,
DSG, DIGRA): each query's value range as half-open positions in that order.

Users write ranges on attribute values (`Range("update_date", lo, hi)`, inclusive, open
ends allowed). The conversion is done here, once, with the dataset's attribute index:
positions index `sorted_order(attr)` (item ids sorted by value, ties by id), so items with
equal values are all inside or all outside a range and none is lost or duplicated.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fanns_bench.errors import MethodError
from fanns_bench.filters.predicates import Predicate, Range
from fanns_bench.methods.base import FilterBatch


@dataclass(frozen=True)
class PositionRanges:
    """Per query: `[starts[i], stops[i])` in the attribute order; start == stop = empty."""

    starts: np.ndarray  # int64
    stops: np.ndarray  # int64


def range_attribute(predicate: Predicate | None) -> str | None:
    """The attribute of a single-range predicate, else `None`."""
    return predicate.attr if isinstance(predicate, Range) else None


def position_ranges(filters: FilterBatch, attr: str) -> PositionRanges:
    """Each query's range on `attr` as positions in `filters.attributes.sorted_order(attr)`.

    Unfiltered queries get the whole order. Any other predicate is a `ValueError` (methods
    declare them unsupported before the run). The ranges' positions come from
    `FilterBatch.range_positions`: those the batch holds (a router counted them), the others
    with one pair of searches for them all, not one call per predicate.
    """
    if filters.leaf_form() == (Range.op, attr):  # every predicate a range on `attr`: none to look at
        starts, stops = filters.range_positions(attr)
    else:
        distinct = filters.distinct
        starts, stops = np.empty(len(distinct), dtype=np.int64), np.empty(len(distinct), dtype=np.int64)
        ranges: list[int] = []
        for i, predicate in enumerate(distinct):
            if predicate is None:
                starts[i], stops[i] = 0, len(filters.attributes.sorted_order(attr))
            elif type(predicate) is Range and predicate.attr == attr:
                ranges.append(i)
            else:
                raise ValueError(f"expected a range on {attr!r} (or no filter), got {predicate!r}")
        starts[ranges], stops[ranges] = filters.range_positions(attr, ranges)
    of_query = filters.set_of_query
    return PositionRanges(starts[of_query], stops[of_query])  # gathered: contiguous


def to_item_ids(positions: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Map positions in the attribute order back to item ids; -1 stays -1."""
    positions = np.asarray(positions, dtype=np.int64)
    out = np.full(positions.shape, -1, dtype=np.int64)
    found = positions >= 0
    out[found] = order[positions[found]]
    return out


def range_support(
    method: str, attribute: str, predicate: Predicate | None, kinds: dict[str, str]
) -> str | None:
    """Why a method indexing items in the order of `attribute` cannot answer `predicate`
    (`None` if it can): one range on that attribute, or no filter, where it is ordered."""
    if kinds.get(attribute) != "ordered":
        ordered = sorted(a for a, kind in kinds.items() if kind == "ordered")
        return (
            f"{method} indexes the ordered attribute {attribute!r} (build parameter `attribute`), which is "
            f"not an ordered attribute of this dataset; its ordered attributes: {ordered}"
        )
    if predicate is None:
        return None
    if not isinstance(predicate, Range):
        return f"{method} answers a single range on {attribute!r} only, not {predicate.op!r}"
    if predicate.attr != attribute:
        return (
            f"{method} was built over {attribute!r}; a range on {predicate.attr!r} needs a build "
            f"with attribute={predicate.attr!r}"
        )
    return None


def method_position_ranges(method: str, filters: FilterBatch, attr: str) -> PositionRanges:
    """`position_ranges` for a method's `prepare_filters`: a predicate it cannot answer is a
    `MethodError` naming the method."""
    try:
        return position_ranges(filters, attr)
    except ValueError as error:
        raise MethodError(f"{method}: {error}") from error
