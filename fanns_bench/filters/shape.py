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
