"""The filter inputs methods share: distinct-filter grouping, CSR id sets, post-filter rounds,
and value ranges as positions in attribute order."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from fanns_bench.filters.attribute_index import AttributeIndex
from fanns_bench.filters.evaluate import AttributeTable
from fanns_bench.filters.predicates import And, Eq, Range
from fanns_bench.methods.base import FilterBatch
from fanns_bench.methods.common.id_sets import id_sets
from fanns_bench.methods.common.ordered import position_ranges, to_item_ids
from fanns_bench.methods.common.postfilter import postfilter_search

ATTRIBUTES = AttributeIndex(
    AttributeTable(
        pa.table(
            {
                "a": pa.array([1, 2, 1, 3, 1, 2, 2, 3, 1, 1]),
                "day": pa.array([5, 3, 3, 9, 1, 3, 7, 5, 5, 2]),
                "kind": pa.array(list("xyxyxyxyxy")),
            }
        )
    )
)


def test_queries_sharing_a_predicate_share_one_set():
    batch = FilterBatch.of([Eq("a", 1), Eq("a", 1), Eq("a", 2), None, Eq("a", 1)], ATTRIBUTES)
    assert batch.distinct == (Eq("a", 1), Eq("a", 2), None)
    np.testing.assert_array_equal(batch.set_of_query, [0, 0, 1, 2, 0])
    sets = id_sets(batch)
    np.testing.assert_array_equal(sets.rows, [0, 0, 1, -1, 0])  # all items: unfiltered
    np.testing.assert_array_equal(sets.ids, [0, 2, 4, 8, 9, 1, 5, 6])
    np.testing.assert_array_equal(sets.offsets, [0, 5, 8])
    assert not sets.unfiltered
    assert id_sets(FilterBatch.of([None, None], ATTRIBUTES)).unfiltered
    assert {s: g.tolist() for s, g in sets.queries_by_set().items()} == {-1: [3], 0: [0, 1, 4], 1: [2]}


def test_bitmaps_and_membership_match_the_sets():
    sets = id_sets(FilterBatch.of([Eq("a", 2), Eq("kind", "x")], ATTRIBUTES))
    bits = np.unpackbits(sets.bitmaps(), axis=1, bitorder="little")[:, :10]
    assert np.flatnonzero(bits[0]).tolist() == [1, 5, 6]
    assert np.flatnonzero(bits[1]).tolist() == [0, 2, 4, 6, 8]
    assert sets.contains(0, np.array([1, 2, 6, 9])).tolist() == [True, False, True, False]
    assert sets.contains(-1, np.array([3, -1])).tolist() == [True, False]


def test_postfilter_doubles_candidates_only_for_queries_short_of_k():
    sets = id_sets(FilterBatch.of([Eq("a", 3), Eq("kind", "x")], ATTRIBUTES))
    calls = []

    def unfiltered(batch: np.ndarray, n: int) -> np.ndarray:  # every query sees ids 0, 1, 2, ...
        calls.append((len(batch), n))
        return np.tile(np.arange(min(n, 10)), (len(batch), 1))

    ids, fetched = postfilter_search(unfiltered, np.zeros((2, 4)), sets, 2, 1.0, 8)
    assert ids.tolist() == [[3, 7], [0, 2]]
    # query 1 (x: 0, 2, ...) is done after 4 candidates; query 0 needs 8 to see ids 3 and 7
    assert calls == [(2, 2), (2, 4), (1, 8)]
    assert fetched == 2 * 2 + 2 * 4 + 8


def test_postfilter_stops_at_the_cap_and_pads():
    sets = id_sets(FilterBatch.of([Eq("a", 3)], ATTRIBUTES))
    ids, _ = postfilter_search(
        lambda b, n: np.tile(np.arange(n), (len(b), 1)), np.zeros((1, 4)), sets, 2, 1, 3
    )
    assert ids.tolist() == [[-1, -1]]  # ids 3 and 7 are past the cap of 3 candidates


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (3, 5, [1, 2, 5, 0, 7, 8]),  # ties at 3 and 5 all inside, in id order
        (5, 3, []),  # empty
        (None, 2, [4, 9]),  # open low end
        (8, None, [3]),  # open high end
        (10, 20, []),  # beyond the data
        (None, None, [4, 9, 1, 2, 5, 0, 7, 8, 6, 3]),  # everything
    ],
)
def test_value_ranges_become_positions_in_attribute_order(low, high, expected):
    ranges = position_ranges(FilterBatch.of([Range("day", low, high)], ATTRIBUTES), "day")
    order = ATTRIBUTES.sorted_order("day")
    assert order[ranges.starts[0] : ranges.stops[0]].tolist() == expected


def test_a_batchs_ranges_get_the_positions_each_gets_alone():
    """Many ranges at once (one pair of searches), duplicates, open ends, empty ranges, no
    filter and a range whose positions the batch already holds: each query's positions are
    those of its range looked up alone."""
    predicates = [Range("day", 3, 5), None, Range("day", 5, 3), Range("day", None, 2), Range("day", 3, 5),
                  Range("day", 8, None), Range("day", 10, 20), Range("day", None, None), Range("day", 4, 4)]  # fmt: skip
    batch = FilterBatch.of(predicates, ATTRIBUTES)
    batch.memo[("positions", Range("day", 4, 4))] = (6, 7)  # held: taken, not searched again
    ranges = position_ranges(batch, "day")
    alone = [(0, 10) if p is None else ATTRIBUTES.position_range("day", p.low, p.high) for p in predicates]
    alone[-1] = (6, 7)
    assert list(zip(ranges.starts.tolist(), ranges.stops.tolist(), strict=True)) == alone
    assert ranges.starts.dtype == ranges.stops.dtype == np.int64


@pytest.mark.parametrize(
    ("predicates", "form"),
    [
        ([Range("day", 3, 5), Range("day", None, 2), Range("day", 3, 5)], ("range", "day")),  # a range cell
        ([Eq("kind", "x"), Eq("kind", "y")], ("eq", "kind")),
        ([Range("day", 3, 5), None], None),  # an unfiltered query
        ([Range("day", 3, 5), Range("a", 1, 2)], None),  # ranges on two attributes
        ([Range("day", 3, 5), Eq("day", 3)], None),  # an equality on the same attribute
        ([Eq("day", 3), Range("day", 3, 5)], None),
        ([And((Range("day", 3, 5),))], None),  # not a leaf
        ([], None),
    ],
)
def test_a_batch_has_a_leaf_form_only_when_every_predicate_is_that_leaf_on_one_attribute(predicates, form):
    """`leaf_form` (the router's and the range methods' shortcut past the per-predicate look)
    names (op, attribute) only when each distinct predicate is a leaf of that op on it."""
    batch = FilterBatch.of(predicates, ATTRIBUTES)
    assert batch.leaf_form() == form
    assert batch.leaf_form() == form  # kept: the same answer again


def test_a_subset_answers_leaf_form_for_its_own_predicates():
    """A subset shares its batch's memo but not its answer: its own predicates decide."""
    batch = FilterBatch.of([None, Range("day", 3, 5), Range("day", 1, 2)], ATTRIBUTES)
    assert batch.leaf_form() is None
    part = batch.subset(np.array([2, 1]))
    assert part.leaf_form() == ("range", "day")
    assert batch.leaf_form() is None


def test_a_counted_range_cells_positions_are_its_filter_input_without_a_search(monkeypatch):
    """A range cell counted once (`selectivities`: one pair of searches) hands every range's
    positions to `position_ranges`, which searches nothing more: the same positions as each
    range looked up alone, the counts their widths."""
    predicates = [Range("day", 3, 5), Range("day", 5, 3), Range("day", None, 2), Range("day", 3, 5),
                  Range("day", 8, None), Range("day", 10, 20), Range("day", None, None)]  # fmt: skip
    alone = [ATTRIBUTES.position_range("day", p.low, p.high) for p in predicates]
    batch = FilterBatch.of(predicates, ATTRIBUTES)
    shares = batch.selectivities()
    assert shares.tolist() == [(b - a) / 10 for a, b in dict(zip(predicates, alone, strict=True)).values()]
    monkeypatch.setattr(AttributeIndex, "position_ranges", lambda *a: pytest.fail("searched again"))
    monkeypatch.setattr(AttributeIndex, "position_range", lambda *a: pytest.fail("searched again"))
    ranges = position_ranges(batch, "day")
    assert list(zip(ranges.starts.tolist(), ranges.stops.tolist(), strict=True)) == alone


def test_an_uncounted_range_cell_is_searched_once_for_all(monkeypatch):
    """A range method's batch of ranges alone (no router counted it): one pair of searches for
    its distinct ranges, each query's positions those of its range looked up alone."""
    predicates = [Range("day", 3, 5), Range("day", None, 2), Range("day", 3, 5), Range("day", 8, None)]
    alone = [ATTRIBUTES.position_range("day", p.low, p.high) for p in predicates]
    calls: list[int] = []
    many = AttributeIndex.position_ranges
    monkeypatch.setattr(
        AttributeIndex, "position_ranges", lambda s, a, lo, hi: calls.append(len(lo)) or many(s, a, lo, hi)
    )
    monkeypatch.setattr(AttributeIndex, "position_range", lambda *a: pytest.fail("searched one by one"))
    ranges = position_ranges(FilterBatch.of(predicates, ATTRIBUTES), "day")
    assert calls == [3]
    assert list(zip(ranges.starts.tolist(), ranges.stops.tolist(), strict=True)) == alone


def test_positions_map_back_to_item_ids():
    order = ATTRIBUTES.sorted_order("day")
    assert to_item_ids(np.array([[0, 9, -1]]), order).tolist() == [[4, 3, -1]]


def test_position_ranges_refuse_other_predicates():
    with pytest.raises(ValueError, match="expected a range on 'day'"):
        position_ranges(FilterBatch.of([Eq("a", 1)], ATTRIBUTES), "day")
