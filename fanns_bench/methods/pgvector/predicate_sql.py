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
from fanns_bench.filters.visitor import PredicateVisitor
from fanns_bench.methods.pgvector.schema import ColumnSpec

ARRAY_OPS = (Contains, ContainsAll, ContainsAny)


class PostgresWhere(PredicateVisitor[sql.Composable]):
    """Predicate -> SQL condition, leaf by leaf; values collected in `params` in order."""

    target = "PostgreSQL SQL"

    def __init__(self, columns: Mapping[str, ColumnSpec]) -> None:
        self.columns = columns
        self.params: list[Any] = []

    def _join(self, predicate: And | Or, joiner: str) -> sql.Composable:
        parts = [self.visit(child) for child in predicate.children]
        return sql.SQL("({})").format(sql.SQL(joiner).join(parts))

    def visit_and(self, predicate: And) -> sql.Composable:
        return self._join(predicate, " AND ")

    def visit_or(self, predicate: Or) -> sql.Composable:
        return self._join(predicate, " OR ")

    def visit_not(self, predicate: Not) -> sql.Composable:
        return sql.SQL("({}) IS NOT TRUE").format(self.visit(predicate.child))

    def visit_eq(self, predicate: Eq) -> sql.Composable:
        name, column = self._leaf(predicate)
        self.params.append(_value(predicate.value, column))
        return sql.SQL("{} = {}").format(name, _scalar(column))

    def visit_in(self, predicate: In) -> sql.Composable:
        name, column = self._leaf(predicate)
        self.params.append([_value(v, column) for v in predicate.values])
        return sql.SQL("{} = ANY({})").format(name, _array(column))

    def visit_range(self, predicate: Range) -> sql.Composable:
        name, column = self._leaf(predicate)
        scalar = _scalar(column)
        if predicate.low is not None and predicate.high is not None:
            self.params.extend([_value(predicate.low, column), _value(predicate.high, column)])
            return sql.SQL("{} BETWEEN {} AND {}").format(name, scalar, scalar)
        if predicate.low is not None:
            self.params.append(_value(predicate.low, column))
            return sql.SQL("{} >= {}").format(name, scalar)
        if predicate.high is not None:
            self.params.append(_value(predicate.high, column))
            return sql.SQL("{} <= {}").format(name, scalar)
        return sql.SQL("TRUE")

    def visit_contains(self, predicate: Contains) -> sql.Composable:
        name, column = self._leaf(predicate)
        self.params.append(_value(predicate.value, column))
        return sql.SQL("{} @> ARRAY[{}]").format(name, _scalar(column))

    def _array_operator(self, predicate: ContainsAll | ContainsAny, operator: str) -> sql.Composable:
        name, column = self._leaf(predicate)
        self.params.append([_value(v, column) for v in predicate.values])
        return sql.SQL("{} " + operator + " {}").format(name, _array(column))

    def visit_contains_all(self, predicate: ContainsAll) -> sql.Composable:
        return self._array_operator(predicate, "@>")

    def visit_contains_any(self, predicate: ContainsAny) -> sql.Composable:
        return self._array_operator(predicate, "&&")

    def _leaf(self, predicate: Predicate) -> tuple[sql.Identifier, ColumnSpec]:
        column = _column(predicate, self.columns)
        return sql.Identifier(column.attr), column


def predicate_sql(
    predicate: Predicate, columns: Mapping[str, ColumnSpec]
) -> tuple[sql.Composable, list[Any]]:
    """The SQL condition for `predicate` and its parameters, in placeholder order."""
    where = PostgresWhere(columns)
    condition = where.visit(predicate)
    return condition, where.params


def _scalar(column: ColumnSpec) -> sql.SQL:
    return sql.SQL("%s::" + column.element_type)


def _array(column: ColumnSpec) -> sql.SQL:
    return sql.SQL("%s::" + column.element_type + "[]")


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
