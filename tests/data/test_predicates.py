"""Predicate AST: JSON round trip, vectorised evaluation, clear errors."""

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest

from fanns_bench.errors import WorkloadError
from fanns_bench.filters.evaluate import AttributeTable
from fanns_bench.filters.predicates import (
    And,
    Contains,
    ContainsAll,
    ContainsAny,
    Eq,
    In,
    Not,
    Or,
    Range,
    from_json,
    ops_used,
    to_json,
)


@pytest.fixture
def table() -> AttributeTable:
    return AttributeTable(
        pa.table(
            {
                "colour": ["red", "blue", "red", None, "green"],
                "size": pa.array([1, 2, 3, 4, 5], pa.int64()),
                "tags": [["a", "b"], ["b"], [], None, ["a", "c"]],
                "day": pa.array([dt.date(2020, 1, d) for d in range(1, 6)], pa.date32()),
                "flag": [True, False, True, False, True],
            }
        )
    )


ALL = [
    Eq("colour", "red"),
    In("size", (1, 5)),
    Range("size", 2, None),
    Range("size", None, 3),
    Contains("tags", "b"),
    ContainsAll("tags", ("a", "c")),
    ContainsAny("tags", ("c", "b")),
    And((Eq("colour", "red"), Range("size", 2, 4))),
    Or((Eq("colour", "blue"), Contains("tags", "c"))),
    Not(Eq("colour", "red")),
    Range("day", "2020-01-02", "2020-01-03"),
    Eq("flag", True),
]


@pytest.mark.parametrize("predicate", ALL, ids=lambda p: p.op)
def test_json_round_trip(predicate):
    assert from_json(to_json(predicate)) == predicate


@pytest.mark.parametrize(
    ("predicate", "expected"),
    [
        (Eq("colour", "red"), [0, 2]),
        (In("size", (1, 5)), [0, 4]),
        (Range("size", 2, None), [1, 2, 3, 4]),
        (Range("size", None, 3), [0, 1, 2]),
        (Range("size", 2, 2), [1]),
        (Contains("tags", "b"), [0, 1]),
        (ContainsAll("tags", ("a", "c")), [4]),
        (ContainsAny("tags", ("c", "b")), [0, 1, 4]),
        (And((Eq("colour", "red"), Range("size", 2, 4))), [2]),
        (Or((Eq("colour", "blue"), Contains("tags", "c"))), [1, 4]),
        (Not(Eq("colour", "red")), [1, 3, 4]),
        (Range("day", "2020-01-02", "2020-01-03"), [1, 2]),
        (Eq("flag", True), [0, 2, 4]),
        (None, [0, 1, 2, 3, 4]),
    ],
)
def test_evaluation(table, predicate, expected):
    ids = table.ids(predicate)
    assert ids.dtype == np.int64
    assert ids.tolist() == expected


def test_ops_used_lists_every_node():
    predicate = And((Eq("a", 1), Not(Contains("t", "x"))))
    assert ops_used(predicate) == {"and", "eq", "not", "contains"}
    assert ops_used(None) == {"none"}


def test_unknown_attribute_names_attribute_and_choices(table):
    with pytest.raises(WorkloadError, match="unknown attribute 'weight'.*'colour'"):
        table.ids(Eq("weight", 3))


def test_type_mismatch_names_op_attribute_and_kind(table):
    with pytest.raises(WorkloadError, match="'range' cannot apply to attribute 'tags' of kind 'set'"):
        table.ids(Range("tags", 1, 2))


def test_value_of_wrong_type_is_a_workload_error(table):
    with pytest.raises(WorkloadError, match="'abc' cannot be compared with a int64 attribute"):
        table.ids(Eq("size", "abc"))


@pytest.mark.parametrize(
    "text", ['{"op": "xor"}', '{"attr": "a"}', "not json", '{"op": "and", "children": []}']
)
def test_malformed_json_is_a_workload_error(text):
    with pytest.raises(WorkloadError):
        from_json(text)
