"""The attribute index answers every predicate exactly as the reference evaluator (a table scan)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest

from fanns_bench.errors import WorkloadError
from fanns_bench.filters.attribute_index import AttributeIndex
from fanns_bench.filters.evaluate import AttributeTable
from fanns_bench.filters.predicates import And, Contains, ContainsAll, ContainsAny, Eq, In, Not, Or, Range

N = 500


def table() -> AttributeTable:
    rng = np.random.default_rng(3)
    colours = ["red", "green", "blue", None]
    tags = [["a", "b"], ["b"], [], ["c", "a", "a"], None]
    return AttributeTable(
        pa.table(
            {
                "colour": pa.array([colours[i] for i in rng.integers(0, 4, N)]),
                "label": pa.array(rng.integers(0, 6, N)).dictionary_encode(),
                "count": pa.array(rng.integers(0, 20, N), pa.int64()),
                "price": pa.array(rng.normal(size=N).round(1)),
                "day": pa.array([dt.date(2020, 1, 1) + dt.timedelta(int(d)) for d in rng.integers(0, 30, N)]),
                "tags": pa.array([tags[i] for i in rng.integers(0, 5, N)]),
            }
        )
    )


TABLE = table()
INDEX = AttributeIndex(TABLE)
PREDICATES = [
    None,
    Eq("colour", "red"),
    Eq("colour", "purple"),
    Eq("label", 3),
    In("colour", ("red", "blue")),
    Eq("count", 7),
    In("count", (1, 2, 19, 99)),
    Range("count", 3, 9),
    Range("count", None, 4),
    Range("count", 15, None),
    Range("count", 9, 3),
    Range("count", -100, 100),
    Range("count", 50, 60),
    Range("price", -0.5, 0.5),
    Range("day", "2020-01-05", "2020-01-09"),
    Range("day", dt.date(2020, 1, 20), None),
    Contains("tags", "a"),
    Contains("tags", "zzz"),
    ContainsAll("tags", ("a", "b")),
    ContainsAny("tags", ("b", "c")),
    And((Eq("colour", "red"), Range("count", 3, 12), Contains("tags", "a"))),  # a wide range: by position
    And((Contains("tags", "a"), Range("count", 5, 5))),  # a narrow range: its ids intersected
    And((Range("day", "2020-01-05", None), Eq("colour", "green"), Range("count", None, 16))),
    And((Range("count", 2, 9), Range("price", 0, None))),  # ranges only
    And((Not(Eq("colour", "purple")), Range("count", 3, 9))),  # every item by position: both ends
    Or((Eq("colour", "green"), Contains("tags", "c"))),
    Not(Eq("colour", "red")),
    And((Not(Contains("tags", "b")), Or((Range("count", 0, 3), Eq("label", 1))))),
]


@pytest.mark.parametrize("predicate", PREDICATES, ids=str)
def test_index_equals_table_scan(predicate):
    expected = TABLE.ids(predicate)
    found = INDEX.evaluate(predicate)
    assert found.dtype == np.int64
    np.testing.assert_array_equal(found, expected)


def test_position_range_covers_exactly_the_value_range_with_ties():
    order, values = INDEX.sorted_order("count"), INDEX.sorted_values("count")
    counts = TABLE.column("count").to_numpy()
    assert sorted(order.tolist()) == list(range(N))  # every item once
    np.testing.assert_array_equal(counts[order], values)
    start, stop = INDEX.position_range("count", 7, 7)
    assert set(order[start:stop].tolist()) == set(np.flatnonzero(counts == 7).tolist())
    assert INDEX.position_range("count", 9, 3)[0] == INDEX.position_range("count", 9, 3)[1]
    assert INDEX.position_range("count", None, None) == (0, N)
    assert INDEX.position_range("count", 100, 200) == (N, N)
    assert INDEX.position_range("count", -5, -1) == (0, 0)
    ties = order[start:stop]
    assert (np.diff(ties) > 0).all()  # ties by id


def test_bad_predicates_get_the_reference_evaluators_errors():
    with pytest.raises(WorkloadError, match="unknown attribute 'size'"):
        INDEX.evaluate(Eq("size", 1))
    with pytest.raises(WorkloadError, match="not an ordered attribute"):
        INDEX.position_range("colour", "a", "b")
    with pytest.raises(WorkloadError, match="cannot be compared"):
        INDEX.evaluate(Range("count", "many", None))


def test_a_batch_counts_each_predicate_as_the_table_scan_does():
    """`batch_counts` (every range on an attribute in one search, equalities and element tests
    by their posting lists' lengths, the rest evaluated): the number of items the reference
    evaluator finds, for every predicate above at once."""
    from fanns_bench.filters.estimate import batch_counts

    found = batch_counts(INDEX, PREDICATES, INDEX.evaluate)
    assert list(found.counts) == [len(TABLE.ids(p)) for p in PREDICATES]
    for attr, (starts, stops) in found.tables.items():  # every range's positions, per attribute
        for predicate, *bounds in zip(PREDICATES, starts.tolist(), stops.tolist(), strict=True):
            if type(predicate) is Range and predicate.attr == attr:
                assert bounds == list(INDEX.position_range(attr, predicate.low, predicate.high)), predicate
            elif not (type(predicate) is Eq and predicate.attr == attr):
                assert bounds == [-1, -1], predicate
    starts, stops = found.tables["day"]
    at = PREDICATES.index(Range("day", "2020-01-05", "2020-01-09"))
    assert [starts[at], stops[at]] == list(INDEX.position_range("day", "2020-01-05", "2020-01-09"))
    assert dict(found.positions) == {Range("count", 7, 7): INDEX.position_range("count", 7, 7)}  # Eq's
    # a range cell's one pair of searches (`search_ranges`): the positions of grouping it
    from fanns_bench.filters.estimate import search_ranges

    cell = [p for p in PREDICATES if type(p) is Range and p.attr == "day"]
    grouped = batch_counts(INDEX, cell, INDEX.evaluate)
    assert len(cell) > 1
    assert [a.tolist() for a in search_ranges(INDEX, "day", cell)] == [
        a.tolist() for a in grouped.tables["day"]
    ]
    np.testing.assert_array_equal(dict(found.postings)[Eq("label", 3)], TABLE.ids(Eq("label", 3)))
