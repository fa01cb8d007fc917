"""Predicate AST -> SQL `WHERE` condition with bound parameters (the only translation).

Values are never interpolated: each becomes a `%s` placeholder with an explicit cast to
the column's type (so `bigint[] @> %s` never meets a `smallint[]` parameter), and each
value is first converted to the column's Arrow type, exactly as the harness evaluates it
(e.g. the date string '2020-01-05' becomes a `datetime.date`). Identifiers are quoted
with `psycopg.sql.Identifier`.

| predicate                  | SQL                                 | GIN/btree usable |
|----------------------------|-------------------------------------|------------------|
| Eq(a, v)                   | "a" = %s::T                         | btree            |
| In(a, vs)                  | "a" = ANY(%s::T[])                  | btree            |
| Range(a, lo, hi)           | "a" BETWEEN %s::T AND %s::T         | btree            |
| Contains(a, v)             | "a" @> ARRAY[%s::E]                 | GIN              |
| ContainsAll(a, vs)         | "a" @> %s::E[]                      | GIN              |
| ContainsAny(a, vs)         | "a" && %s::E[]                      | GIN              |
| And / Or                   | (x AND y) / (x OR y)                |                  |
| Not(x)                     | (x) IS NOT TRUE                     |                  |

`Not` is `IS NOT TRUE` rather than `NOT`, so that a NULL attribute satisfies `Not(...)`
as in the harness's evaluation (SQL's `NOT NULL` is NULL, i.e. false).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pyarrow as pa
from psycopg import sql

from fanns_bench.errors import WorkloadError
from fanns_bench.filters.predicates import (
    And,
    Contains,
    ContainsAll,
    ContainsAny,
    Eq,
    In,
    Not,
    Or,
    Predicate,
    Range,
)
from fanns_bench.methods.pgvector.schema import ColumnSpec

ARRAY_OPS = (Contains, ContainsAll, ContainsAny)


def predicate_sql(
    predicate: Predicate, columns: Mapping[str, ColumnSpec]
) -> tuple[sql.Composable, list[Any]]:
    """The SQL condition for `predicate` and its parameters, in placeholder order."""
    params: list[Any] = []
    return _condition(predicate, columns, params), params


def _condition(predicate: Predicate, columns: Mapping[str, ColumnSpec], params: list[Any]) -> sql.Composable:
    if isinstance(predicate, And | Or):
        joiner = sql.SQL(" AND " if isinstance(predicate, And) else " OR ")
        parts = [_condition(child, columns, params) for child in predicate.children]
        return sql.SQL("({})").format(joiner.join(parts))
    if isinstance(predicate, Not):
        return sql.SQL("({}) IS NOT TRUE").format(_condition(predicate.child, columns, params))
    column = _column(predicate, columns)
    name = sql.Identifier(column.attr)
    scalar = sql.SQL("%s::" + column.element_type)
    array = sql.SQL("%s::" + column.element_type + "[]")
    if isinstance(predicate, Eq):
        params.append(_value(predicate.value, column))
        return sql.SQL("{} = {}").format(name, scalar)
    if isinstance(predicate, In):
        params.append([_value(v, column) for v in predicate.values])
        return sql.SQL("{} = ANY({})").format(name, array)
    if isinstance(predicate, Range):
        return _range(predicate, name, scalar, column, params)
    if isinstance(predicate, Contains):
        params.append(_value(predicate.value, column))
        return sql.SQL("{} @> ARRAY[{}]").format(name, scalar)
    params.append([_value(v, column) for v in predicate.values])
    operator = "@>" if isinstance(predicate, ContainsAll) else "&&"
    return sql.SQL("{} " + operator + " {}").format(name, array)


def _range(
    predicate: Range,
    name: sql.Identifier,
    scalar: sql.SQL,
    column: ColumnSpec,
    params: list[Any],
) -> sql.Composable:
    if predicate.low is not None and predicate.high is not None:
        params.extend([_value(predicate.low, column), _value(predicate.high, column)])
        return sql.SQL("{} BETWEEN {} AND {}").format(name, scalar, scalar)
    if predicate.low is not None:
        params.append(_value(predicate.low, column))
        return sql.SQL("{} >= {}").format(name, scalar)
    if predicate.high is not None:
        params.append(_value(predicate.high, column))
        return sql.SQL("{} <= {}").format(name, scalar)
    return sql.SQL("TRUE")


def _column(predicate: Predicate, columns: Mapping[str, ColumnSpec]) -> ColumnSpec:
    if predicate.attr not in columns:
        raise WorkloadError(
            f"predicate {predicate.op!r} names unknown attribute {predicate.attr!r}; "
            f"the table has {sorted(columns)}"
        )
    column = columns[predicate.attr]
    if isinstance(predicate, ARRAY_OPS) != column.is_array:
        raise WorkloadError(
            f"predicate {predicate.op!r} cannot apply to attribute {predicate.attr!r} "
            f"of SQL type {column.sql_type}"
        )
    return column


def _value(value: Any, column: ColumnSpec) -> Any:
    """`value` converted to the column's Arrow type, then to the Python value psycopg sends."""
    try:
        return pa.scalar(value).cast(column.arrow_value_type).as_py()
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        raise WorkloadError(
            f"value {value!r} cannot be compared with attribute {column.attr!r} ({column.arrow_value_type})"
        ) from None
