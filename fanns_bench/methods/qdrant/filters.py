"""Translate the predicate AST into a Qdrant `Filter` (the one place this happens).

Mapping (Qdrant payload semantics: a condition on an array field holds when any
element satisfies it):

- `Eq`           `FieldCondition(match=MatchValue(v))`; floats: `range=RangeFloat(gte=v, lte=v)`
- `In`           `match=MatchAny([...])`; floats: `should` of one point range each
- `Range`        `range=RangeFloat(gte=low, lte=high)` (closed; `None` leaves a side open)
- `Contains`     `match=MatchValue(v)` on the array field
- `ContainsAny`  `match=MatchAny([...])` on the array field
- `ContainsAll`  `Filter(must=[MatchValue(v) for each v])`
- `And` / `Or` / `Not`   `Filter(must=...)` / `Filter(should=...)` / `Filter(must_not=[...])`

Values are cast to the attribute's type first (`values.plain_value`); a missing
field or null never matches a condition, so `must_not` keeps such points, as our
evaluator does. Booleans are stored and matched as integers 0/1: qdrant-edge-py 0.9.0
turns `MatchValue(True)` into `MatchValue(1)`, which never matches a boolean payload.
"""

from __future__ import annotations

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
)
from fanns_bench.methods.common.values import plain_value


def to_qdrant_filter(predicate: Predicate, types: dict[str, pa.DataType]) -> Any:
    """The `qdrant_edge.Filter` equivalent of `predicate`.

    `types` maps each attribute to the type of one of its values (`values.value_types`).
    """
    import qdrant_edge as qd

    condition = _condition(qd, predicate, types)
    return condition if isinstance(condition, qd.Filter) else qd.Filter(must=[condition])


def _condition(qd: Any, predicate: Predicate, types: dict[str, pa.DataType]) -> Any:
    if isinstance(predicate, And):
        return qd.Filter(must=[_condition(qd, c, types) for c in predicate.children])
    if isinstance(predicate, Or):
        return qd.Filter(should=[_condition(qd, c, types) for c in predicate.children])
    if isinstance(predicate, Not):
        return qd.Filter(must_not=[_condition(qd, predicate.child, types)])
    if predicate.attr not in types:
        raise WorkloadError(f"predicate names unknown attribute {predicate.attr!r}; known: {sorted(types)}")
    arrow_type = types[predicate.attr]
    if isinstance(predicate, Eq | Contains):
        return _equals(qd, predicate.attr, qdrant_value(predicate.value, arrow_type), arrow_type)
    if isinstance(predicate, In | ContainsAny):
        values = [qdrant_value(v, arrow_type) for v in predicate.values]
        if pa.types.is_floating(arrow_type):
            return qd.Filter(should=[_equals(qd, predicate.attr, v, arrow_type) for v in values])
        return qd.FieldCondition(predicate.attr, match=qd.MatchAny(values))
    if isinstance(predicate, ContainsAll):
        values = [qdrant_value(v, arrow_type) for v in predicate.values]
        return qd.Filter(must=[_equals(qd, predicate.attr, v, arrow_type) for v in values])
    if isinstance(predicate, Range):
        low, high = (
            None if bound is None else qdrant_value(bound, arrow_type)
            for bound in (predicate.low, predicate.high)
        )
        return qd.FieldCondition(predicate.attr, range=qd.RangeFloat(gte=low, lte=high))
    raise WorkloadError(f"predicate {predicate!r} has no Qdrant translation")


def qdrant_value(value: Any, arrow_type: pa.DataType) -> Any:
    """`value` as stored in the payload: cast to the attribute's type, booleans as 0/1."""
    value = plain_value(value, arrow_type)
    return int(value) if pa.types.is_boolean(arrow_type) else value


def _equals(qd: Any, attr: str, value: Any, arrow_type: pa.DataType) -> Any:
    """`attr == value`: `MatchValue` for keywords, integers and booleans, a point range for floats."""
    if pa.types.is_floating(arrow_type):
        return qd.FieldCondition(attr, range=qd.RangeFloat(gte=value, lte=value))
    return qd.FieldCondition(attr, match=qd.MatchValue(value))
