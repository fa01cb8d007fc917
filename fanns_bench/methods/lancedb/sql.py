"""Translate the predicate AST into a Lance SQL filter string (the one place this happens).

Mapping: `Eq` `a = v`; `In` `a IN (v, ...)`; `Range` `a >= lo AND a <= hi` (closed,
a `None` side dropped); `Contains` `array_has(a, v)`; `ContainsAny`
`array_has_any(a, [v, ...])`; `ContainsAll` `array_has_all(a, [v, ...])`; `And`/`Or`
`(x) AND (y)` / `(x) OR (y)`; `Not` `NOT (x)`. Empty value lists: `In`/`ContainsAny`
`FALSE`, `ContainsAll` `TRUE` (as the evaluator).

Safety: every value is cast to the attribute's type and written as a literal of that
type; strings are single-quoted with embedded quotes doubled (the SQL standard, which
Lance's parser follows; backslashes are not escapes), so no attribute value can end
the literal. Column names are back-quoted; a name containing a back-quote is refused.

Nulls: SQL's `NOT` keeps NULL as NULL (the row is dropped), while our evaluator
treats a missing value as "does not match", so `NOT` keeps such rows. Where the negated
part reads a nullable column, `Not` becomes `(x) IS NOT TRUE`, which keeps them (Lance
then evaluates that part without its scalar index).
"""

from __future__ import annotations

import math
from typing import Any

import pyarrow as pa

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
    leaves,
)
from fanns_bench.filters.visitor import PredicateVisitor
from fanns_bench.methods.common.values import plain_value


class LanceWhere(PredicateVisitor[str]):
    """Predicate -> Lance SQL filter text, leaf by leaf.

    `types` maps each attribute to the type of one of its values (`values.value_types`);
    `nullable` names the attributes that hold nulls.
    """

    target = "Lance SQL"

    def __init__(self, types: dict[str, pa.DataType], nullable: frozenset[str] = frozenset()) -> None:
        self.types, self.nullable = types, nullable

    def visit_and(self, predicate: And) -> str:
        return " AND ".join(f"({self.visit(c)})" for c in predicate.children)

    def visit_or(self, predicate: Or) -> str:
        return " OR ".join(f"({self.visit(c)})" for c in predicate.children)

    def visit_not(self, predicate: Not) -> str:
        inner = self.visit(predicate.child)
        if any(leaf.attr in self.nullable for leaf in leaves(predicate.child)):
            return f"({inner}) IS NOT TRUE"
        return f"NOT ({inner})"

    def visit_eq(self, predicate: Eq) -> str:
        column, arrow_type = self._column(predicate.attr)
        return f"{column} = {literal(predicate.value, arrow_type)}"

    def visit_in(self, predicate: In) -> str:
        column, arrow_type = self._column(predicate.attr)
        return f"{column} IN ({_literals(predicate.values, arrow_type)})" if predicate.values else "FALSE"

    def visit_range(self, predicate: Range) -> str:
        column, arrow_type = self._column(predicate.attr)
        sides = [
            f"{column} {op} {literal(bound, arrow_type)}"
            for op, bound in ((">=", predicate.low), ("<=", predicate.high))
            if bound is not None
        ]
        return " AND ".join(sides) or "TRUE"

    def visit_contains(self, predicate: Contains) -> str:
        column, arrow_type = self._column(predicate.attr)
        return f"array_has({column}, {literal(predicate.value, arrow_type)})"

    def visit_contains_any(self, predicate: ContainsAny) -> str:
        column, arrow_type = self._column(predicate.attr)
        if not predicate.values:
            return "FALSE"
        return f"array_has_any({column}, [{_literals(predicate.values, arrow_type)}])"

    def visit_contains_all(self, predicate: ContainsAll) -> str:
        column, arrow_type = self._column(predicate.attr)
        if not predicate.values:
            return "TRUE"
        return f"array_has_all({column}, [{_literals(predicate.values, arrow_type)}])"

    def _column(self, attr: str) -> tuple[str, pa.DataType]:
        if attr not in self.types:
            raise WorkloadError(f"predicate names unknown attribute {attr!r}; known: {sorted(self.types)}")
        return quote_name(attr), self.types[attr]


def to_lance_where(
    predicate: Predicate,
    types: dict[str, pa.DataType],
    nullable: frozenset[str] = frozenset(),
) -> str:
    """The Lance SQL filter equivalent of `predicate`."""
    return LanceWhere(types, nullable).visit(predicate)


def quote_name(name: str) -> str:
    """A back-quoted column name."""
    if "`" in name:
        raise WorkloadError(f"attribute name {name!r} contains a back-quote; Lance cannot filter it")
    return f"`{name}`"


def literal(value: Any, arrow_type: pa.DataType) -> str:
    """`value` as an SQL literal of the attribute's type (temporal values as integers)."""
    plain = plain_value(value, arrow_type)
    if isinstance(plain, bool):
        return "true" if plain else "false"
    if isinstance(plain, int):
        return str(plain)
    if isinstance(plain, float):
        if not math.isfinite(plain):
            raise WorkloadError(f"predicate value {value!r} is not a finite number")
        return repr(plain)
    if isinstance(plain, str):
        return "'" + plain.replace("'", "''") + "'"
    raise WorkloadError(f"predicate value {value!r} ({arrow_type}) has no SQL literal form")


def _literals(values: tuple, arrow_type: pa.DataType) -> str:
    return ", ".join(literal(v, arrow_type) for v in values)
