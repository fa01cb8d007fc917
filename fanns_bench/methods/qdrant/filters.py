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
    ContainsAll,
    Eq,
    In,
    Not,
    Or,
    Predicate,
    Range,
)
from fanns_bench.filters.visitor import PredicateVisitor
from fanns_bench.methods.common.values import plain_value


class QdrantFilter(PredicateVisitor[Any]):
    """Predicate -> `qdrant_edge` condition (a `Filter` or a `FieldCondition`), leaf by leaf.

    `types` maps each attribute to the type of one of its values (`values.value_types`).
    """

    target = "a Qdrant filter"

    def __init__(self, types: dict[str, pa.DataType]) -> None:
        import qdrant_edge

        self.qd, self.types = qdrant_edge, types

    def visit_and(self, predicate: And) -> Any:
        return self.qd.Filter(must=[self.visit(c) for c in predicate.children])

    def visit_or(self, predicate: Or) -> Any:
        return self.qd.Filter(should=[self.visit(c) for c in predicate.children])

    def visit_not(self, predicate: Not) -> Any:
        return self.qd.Filter(must_not=[self.visit(predicate.child)])

    def visit_eq(self, predicate: Eq) -> Any:
        return self._equals(predicate.attr, predicate.value)

    visit_contains = visit_eq  # a condition on an array field holds when any element does

    def visit_in(self, predicate: In) -> Any:
        arrow_type = self._type(predicate.attr)
        values = [qdrant_value(v, arrow_type) for v in predicate.values]
        if pa.types.is_floating(arrow_type):
            return self.qd.Filter(should=[self._equals(predicate.attr, v) for v in predicate.values])
        return self.qd.FieldCondition(predicate.attr, match=self.qd.MatchAny(values))

    visit_contains_any = visit_in

    def visit_contains_all(self, predicate: ContainsAll) -> Any:
        return self.qd.Filter(must=[self._equals(predicate.attr, v) for v in predicate.values])

    def visit_range(self, predicate: Range) -> Any:
        arrow_type = self._type(predicate.attr)
        low, high = (
            None if bound is None else qdrant_value(bound, arrow_type)
            for bound in (predicate.low, predicate.high)
        )
        return self.qd.FieldCondition(predicate.attr, range=self.qd.RangeFloat(gte=low, lte=high))

    def _type(self, attr: str) -> pa.DataType:
        if attr not in self.types:
            raise WorkloadError(f"predicate names unknown attribute {attr!r}; known: {sorted(self.types)}")
        return self.types[attr]

    def _equals(self, attr: str, value: Any) -> Any:
        """`attr == value`: `MatchValue` for keywords, integers and booleans, a point range for floats."""
        arrow_type = self._type(attr)
        value = qdrant_value(value, arrow_type)
        if pa.types.is_floating(arrow_type):
            return self.qd.FieldCondition(attr, range=self.qd.RangeFloat(gte=value, lte=value))
        return self.qd.FieldCondition(attr, match=self.qd.MatchValue(value))


def to_qdrant_filter(predicate: Predicate, types: dict[str, pa.DataType]) -> Any:
    """The `qdrant_edge.Filter` equivalent of `predicate`."""
    import qdrant_edge as qd

    condition = QdrantFilter(types).visit(predicate)
    return condition if isinstance(condition, qd.Filter) else qd.Filter(must=[condition])


def qdrant_value(value: Any, arrow_type: pa.DataType) -> Any:
    """`value` as stored in the payload: cast to the attribute's type, booleans as 0/1."""
    value = plain_value(value, arrow_type)
    return int(value) if pa.types.is_boolean(arrow_type) else value
