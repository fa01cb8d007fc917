"""A predicate's form without its values: which ops on which attributes.

Queries of one filter type share a form (`eq(category)`, `and(contains(tags),range(day))`),
so result rows record it (`filter_shapes`) and the router maps a query back to the filter
type a policy names from its predicate alone.
"""

from __future__ import annotations

from fanns_bench.filters.predicates import And, Not, Or, Predicate

NO_FILTER = "none"


def shape(predicate: Predicate | None) -> str:
    """`none`, `op(attr)` for a leaf, `op(child,child...)` for and/or/not (children in order)."""
    if predicate is None:
        return NO_FILTER
    if isinstance(predicate, And | Or):
        return f"{predicate.op}({','.join(shape(child) for child in predicate.children)})"
    if isinstance(predicate, Not):
        return f"not({shape(predicate.child)})"
    return f"{predicate.op}({predicate.attr})"


def form_key(predicate: Predicate | None) -> object:
    """A hashable stand-in for `shape`, equal for two predicates exactly when their shapes
    are: `(op, attr)` for a leaf, `(op, key, key...)` for and/or, `shape` itself otherwise.
    Builds no string (half `shape`'s cost on a two-leaf conjunction): the router keys every
    predicate of a batch by it inside the timed pass."""
    attr = getattr(predicate, "attr", None)
    if attr is not None:
        return predicate.op, attr  # type: ignore[union-attr]
    children = getattr(predicate, "children", None)
    if children is not None:
        return (predicate.op, *map(form_key, children))  # type: ignore[union-attr]
    return shape(predicate)
