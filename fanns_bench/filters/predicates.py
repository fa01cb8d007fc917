"""The predicate AST: small, immutable, JSON round-trippable filter expressions.

Leaves name one attribute; `Range` is closed on both ends (`None` leaves a side open).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from fanns_bench.errors import WorkloadError

Scalar = str | int | float | bool


@dataclass(frozen=True)
class Eq:
    """`attr == value` on a scalar attribute."""

    attr: str
    value: Scalar
    op = "eq"


@dataclass(frozen=True)
class In:
    """`attr` is one of `values` (scalar attribute)."""

    attr: str
    values: tuple[Scalar, ...]
    op = "in"


@dataclass(frozen=True)
class Range:
    """`low <= attr <= high` on an ordered attribute; `None` leaves that side open."""

    attr: str
    low: Scalar | None = None
    high: Scalar | None = None
    op = "range"


@dataclass(frozen=True)
class Contains:
    """`value` is an element of the list attribute `attr`."""

    attr: str
    value: Scalar
    op = "contains"


@dataclass(frozen=True)
class ContainsAll:
    """Every one of `values` is an element of the list attribute `attr`."""

    attr: str
    values: tuple[Scalar, ...]
    op = "contains_all"


@dataclass(frozen=True)
class ContainsAny:
    """At least one of `values` is an element of the list attribute `attr`."""

    attr: str
    values: tuple[Scalar, ...]
    op = "contains_any"


@dataclass(frozen=True)
class And:
    """All children hold."""

    children: tuple[Predicate, ...]
    op = "and"


@dataclass(frozen=True)
class Or:
    """At least one child holds."""

    children: tuple[Predicate, ...]
    op = "or"


@dataclass(frozen=True)
class Not:
    """The child does not hold."""

    child: Predicate
    op = "not"


Predicate = Eq | In | Range | Contains | ContainsAll | ContainsAny | And | Or | Not
LEAVES = {cls.op: cls for cls in (Eq, In, Range, Contains, ContainsAll, ContainsAny)}
NODES = {cls.op: cls for cls in (And, Or, Not)}
OPS = frozenset(LEAVES) | frozenset(NODES)


def to_dict(predicate: Predicate | None) -> dict[str, Any] | None:
    """The JSON-ready form of a predicate (`None` stays `None`: no filter)."""
    if predicate is None:
        return None
    if isinstance(predicate, And | Or):
        return {"op": predicate.op, "children": [to_dict(c) for c in predicate.children]}
    if isinstance(predicate, Not):
        return {"op": "not", "child": to_dict(predicate.child)}
    out: dict[str, Any] = {"op": predicate.op, "attr": predicate.attr}
    if isinstance(predicate, Range):
        out["low"], out["high"] = _plain(predicate.low), _plain(predicate.high)
    elif isinstance(predicate, Eq | Contains):
        out["value"] = _plain(predicate.value)
    else:
        out["values"] = [_plain(v) for v in predicate.values]
    return out


def from_dict(data: dict[str, Any] | None) -> Predicate | None:
    """Parse the form `to_dict` writes; a malformed node raises `WorkloadError`."""
    if data is None:
        return None
    if not isinstance(data, dict) or "op" not in data:
        raise WorkloadError(f"predicate node {data!r} is not an object with an 'op' key")
    op = data["op"]
    try:
        if op in ("and", "or"):
            children = tuple(from_dict(c) for c in data["children"])
            if not children:
                raise WorkloadError(f"'{op}' predicate needs at least one child")
            return NODES[op](children)
        if op == "not":
            return Not(from_dict(data["child"]))
        if op == "range":
            return Range(data["attr"], data.get("low"), data.get("high"))
        if op in ("eq", "contains"):
            return LEAVES[op](data["attr"], data["value"])
        if op in LEAVES:
            return LEAVES[op](data["attr"], tuple(data["values"]))
    except KeyError as missing:
        raise WorkloadError(f"predicate node {data!r} lacks the key {missing}") from None
    raise WorkloadError(f"unknown predicate op {op!r}; expected one of {sorted(OPS)}")


def to_json(predicate: Predicate | None) -> str:
    """Compact, key-sorted JSON (stable, so it can be hashed)."""
    return json.dumps(to_dict(predicate), sort_keys=True, separators=(",", ":"))


def from_json(text: str) -> Predicate | None:
    """Inverse of `to_json`."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise WorkloadError(f"predicate {text!r} is not valid JSON: {error}") from None
    return from_dict(data)


def ops_used(predicate: Predicate | None) -> frozenset[str]:
    """Every op in the tree (`none` for no filter): what a method must support."""
    if predicate is None:
        return frozenset({"none"})
    if isinstance(predicate, And | Or):
        return frozenset({predicate.op}).union(*(ops_used(c) for c in predicate.children))
    if isinstance(predicate, Not):
        return frozenset({"not"}) | ops_used(predicate.child)
    return frozenset({predicate.op})


def leaves(predicate: Predicate | None) -> list[Predicate]:
    """The leaf predicates, left to right."""
    if predicate is None:
        return []
    if isinstance(predicate, And | Or):
        return [leaf for c in predicate.children for leaf in leaves(c)]
    if isinstance(predicate, Not):
        return leaves(predicate.child)
    return [predicate]


def _plain(value: Any) -> Any:
    """numpy scalars to Python scalars and dates to ISO strings: one JSON-ready form."""
    value = value.item() if hasattr(value, "item") else value
    return value.isoformat() if isinstance(value, dt.date) else value
