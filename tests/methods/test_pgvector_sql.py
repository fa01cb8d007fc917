"""pgvector's predicate -> SQL translation: exact SQL text and bound parameters per op."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

pytest.importorskip("psycopg")

from fanns_bench.errors import MethodError, WorkloadError  # noqa: E402
from fanns_bench.filters.predicates import (  # noqa: E402
    And,
    Contains,
    ContainsAll,
    ContainsAny,
    Eq,
    In,
    Not,
    Or,
    Range,
)
from fanns_bench.methods.pgvector.predicate_sql import predicate_sql  # noqa: E402
from fanns_bench.methods.pgvector.schema import table_columns  # noqa: E402

SCHEMA = pa.schema(
    {
        "category": pa.dictionary(pa.int32(), pa.string()),
        "score": pa.int64(),
        "small": pa.int16(),
        "published": pa.date32(),
        "flag": pa.bool_(),
        "weight": pa.float32(),
        "tags": pa.list_(pa.string()),
        "codes": pa.list_(pa.int64()),
        'odd "name"': pa.string(),
    }
)
COLUMNS = table_columns(SCHEMA)


def render(predicate):
    condition, params = predicate_sql(predicate, COLUMNS)
    return condition.as_string(), params


def test_columns_get_sql_types():
    assert {name: c.sql_type for name, c in COLUMNS.items()} == {
        "category": "text",
        "score": "bigint",
        "small": "integer",
        "published": "date",
        "flag": "boolean",
        "weight": "double precision",
        "tags": "text[]",
        "codes": "bigint[]",
        'odd "name"': "text",
    }


def test_reserved_column_names_are_rejected():
    with pytest.raises(MethodError, match="'embedding' clashes"):
        table_columns(pa.schema({"embedding": pa.string()}))


def test_eq():
    assert render(Eq("category", "cs.AI")) == ('"category" = %s::text', ["cs.AI"])
    assert render(Eq("flag", True)) == ('"flag" = %s::boolean', [True])
    assert render(Eq('odd "name"', "x")) == ('"odd ""name""" = %s::text', ["x"])


def test_in():
    assert render(In("score", (3, 5))) == ('"score" = ANY(%s::bigint[])', [[3, 5]])


def test_range_closed_half_open_and_open():
    date = dt.date(2020, 1, 5)
    assert render(Range("published", "2020-01-05", "2021-01-01")) == (
        '"published" BETWEEN %s::date AND %s::date',
        [date, dt.date(2021, 1, 1)],
    )
    assert render(Range("score", 10, None)) == ('"score" >= %s::bigint', [10])
    assert render(Range("weight", None, 2)) == ('"weight" <= %s::double precision', [2.0])
    assert render(Range("score")) == ("TRUE", [])


def test_set_containment_ops():
    assert render(Contains("tags", "x")) == ('"tags" @> ARRAY[%s::text]', ["x"])
    assert render(ContainsAll("tags", ("x", "y"))) == ('"tags" @> %s::text[]', [["x", "y"]])
    assert render(ContainsAny("codes", (1, 2))) == ('"codes" && %s::bigint[]', [[1, 2]])


def test_and_or_not_nest_with_parameters_in_order():
    predicate = Or(
        (
            And((Eq("category", "a"), Range("score", 1, 9))),
            Not(Contains("tags", "z")),
        )
    )
    assert render(predicate) == (
        '(("category" = %s::text AND "score" BETWEEN %s::bigint AND %s::bigint) '
        'OR ("tags" @> ARRAY[%s::text]) IS NOT TRUE)',
        ["a", 1, 9, "z"],
    )


def test_values_are_never_interpolated():
    text, params = render(Eq("category", "x'; DROP TABLE items; --"))
    assert text == '"category" = %s::text'
    assert params == ["x'; DROP TABLE items; --"]


def test_bad_predicates_name_the_attribute():
    with pytest.raises(WorkloadError, match="unknown attribute 'nope'"):
        render(Eq("nope", 1))
    with pytest.raises(WorkloadError, match="'contains' cannot apply to attribute 'score'"):
        render(Contains("score", 1))
    with pytest.raises(WorkloadError, match="value 'abc' cannot be compared with attribute 'score'"):
        render(Eq("score", "abc"))
