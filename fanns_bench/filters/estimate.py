"""A query's selectivity from the attribute index, without materialising what it can count.

A range on an ordered attribute is the width of its slice of the sorted order (two binary
searches); an equality or element test is the length of a posting list (a view); other
forms are evaluated. The figure is exact, not sampled. `batch_counts` counts a batch's
predicates one form at a time (one array search for all ranges on an attribute).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from fanns_bench.filters.attribute_index import AttributeIndex
from fanns_bench.filters.evaluate import CATEGORICAL, ORDERED, SET
from fanns_bench.filters.predicates import Contains, Eq, Predicate, Range


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


@dataclass
class BatchCounts:
    """What `batch_counts` found: the count of each predicate, and what it looked up on the
    way (each range's positions, an ordered equality's as those of the range [value, value],
    each categorical equality's or element's posting list) for others to reuse."""

    counts: np.ndarray  # int64, one per predicate
    positions: list[tuple[Range, tuple[int, int]]] = field(default_factory=list)  # equalities'
    postings: list[tuple[Predicate, np.ndarray]] = field(default_factory=list)
    tables: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    """Per ordered attribute, each predicate's [start, stop) positions on it as (starts,
    stops), int64, -1 where the predicate is not a range or equality on it: two arrays, not n
    entries."""


def search_ranges(
    attributes: AttributeIndex, attr: str, ranges: Sequence[Predicate | None]
) -> tuple[np.ndarray, np.ndarray]:
    """(starts, stops) of `ranges` (every one a `Range` on `attr`) with one pair of searches."""
    lows = [r.low for r in ranges]  # type: ignore[union-attr]
    highs = [r.high for r in ranges]  # type: ignore[union-attr]
    return attributes.position_ranges(attr, lows, highs)


def batch_counts(
    attributes: AttributeIndex,
    predicates: Sequence[Predicate | None],
    matches: Callable[[Predicate], np.ndarray],
) -> BatchCounts:
    """The items matching each of `predicates` (distinct), counted one form at a time: every
    range (or equality) on one ordered attribute with one pair of searches over them all,
    every equality or element test on one categorical or list attribute with one lookup of
    their posting lists' lengths; the rest from `matches` (evaluated). The same counts as
    `selectivity` x items, without a Python call chain per predicate."""
    found = BatchCounts(np.full(len(predicates), attributes.num_items, dtype=np.int64))
    groups: dict[tuple[bool, str], list[int]] = {}
    ordered_equalities: list[int] = []
    kinds = attributes.kinds
    for i, predicate in enumerate(predicates):
        form = type(predicate)  # the predicate classes are final: their type is their form
        if form is Range:
            groups.setdefault((True, predicate.attr), []).append(i)
        elif form is Eq and kinds.get(predicate.attr) == ORDERED:
            groups.setdefault((True, predicate.attr), []).append(i)
            ordered_equalities.append(i)
        elif (form is Eq and kinds.get(predicate.attr) == CATEGORICAL) or (
            form is Contains and kinds.get(predicate.attr) == SET
        ):
            groups.setdefault((False, predicate.attr), []).append(i)
        elif predicate is not None:
            found.counts[i] = len(matches(predicate))
    for (ordered, attr), rows in groups.items():
        group = [predicates[i] for i in rows]
        if ordered:
            lows = [p.low if type(p) is Range else p.value for p in group]
            highs = [p.high if type(p) is Range else p.value for p in group]
            starts, stops = attributes.position_ranges(attr, lows, highs)
            on_attr = found.tables[attr] = (
                np.full(len(predicates), -1, np.int64),
                np.full(len(predicates), -1, np.int64),
            )
            on_attr[0][rows], on_attr[1][rows] = starts, stops
            # an equality's positions are those of the range [value, value], as evaluation finds them
            found.positions += [
                (
                    Range(attr, predicates[i].value, predicates[i].value),
                    (int(on_attr[0][i]), int(on_attr[1][i])),
                )
                for i in ordered_equalities
                if predicates[i].attr == attr
            ]
        else:
            ids, starts, stops = attributes.posting_spans(attr, [p.value for p in group])
            found.postings += [
                (p, ids[a:b]) for p, a, b in zip(group, starts.tolist(), stops.tolist(), strict=True)
            ]
        found.counts[rows] = stops - starts
    return found
