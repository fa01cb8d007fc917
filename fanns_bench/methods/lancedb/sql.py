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
from fanns_bench.methods.common.values import plain_value


def to_lance_where(
    predicate: Predicate,
    types: dict[str, pa.DataType],
    nullable: frozenset[str] = frozenset(),
) -> str:
    """The Lance SQL filter equivalent of `predicate`.

    `types` maps each attribute to the type of one of its values (`values.value_types`);
    `nullable` names the attributes that hold nulls.
    """
    if isinstance(predicate, And | Or):
        joiner = f" {predicate.op.upper()} "
        return joiner.join(f"({to_lance_where(c, types, nullable)})" for c in predicate.children)
    if isinstance(predicate, Not):
        inner = to_lance_where(predicate.child, types, nullable)
        if any(leaf.attr in nullable for leaf in leaves(predicate.child)):
            return f"({inner}) IS NOT TRUE"
        return f"NOT ({inner})"
    if predicate.attr not in types:
        raise WorkloadError(f"predicate names unknown attribute {predicate.attr!r}; known: {sorted(types)}")
    column, arrow_type = quote_name(predicate.attr), types[predicate.attr]
    if isinstance(predicate, Eq):
        return f"{column} = {literal(predicate.value, arrow_type)}"
    if isinstance(predicate, In | ContainsAny | ContainsAll) and not predicate.values:
        return "TRUE" if isinstance(predicate, ContainsAll) else "FALSE"
    if isinstance(predicate, In):
        return f"{column} IN ({_literals(predicate.values, arrow_type)})"
    if isinstance(predicate, Range):
        sides = [
            f"{column} {op} {literal(bound, arrow_type)}"
            for op, bound in ((">=", predicate.low), ("<=", predicate.high))
            if bound is not None
        ]
        return " AND ".join(sides) or "TRUE"
    if isinstance(predicate, Contains):
        return f"array_has({column}, {literal(predicate.value, arrow_type)})"
    if isinstance(predicate, ContainsAny):
        return f"array_has_any({column}, [{_literals(predicate.values, arrow_type)}])"
    if isinstance(predicate, ContainsAll):
        return f"array_has_all({column}, [{_literals(predicate.values, arrow_type)}])"
    raise WorkloadError(f"predicate {predicate!r} has no Lance SQL translation")


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
