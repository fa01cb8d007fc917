"""The one predicate walker: every translator (evaluation, SQL, engine filters, labels)
subclasses `PredicateVisitor` and implements the predicate kinds it handles, leaf by leaf.

A kind a translator does not implement raises `UnsupportedPredicate`, which methods report
as a declared `unsupported` shape: a new predicate kind can never be skipped silently.
"""

from __future__ import annotations

from typing import Generic, TypeVar

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

T = TypeVar("T")


class UnsupportedPredicate(ValueError):
    """A predicate (or part of one) that a translator cannot express."""


class PredicateVisitor(Generic[T]):
    """Dispatch on the predicate's kind to `visit_<op>`; unhandled kinds are unsupported."""

    #: what the translator is called in messages ("SQL", "qdrant filter", ...)
    target: str = "this translator"

    def visit(self, predicate: Predicate | None) -> T:
        if predicate is None:
            return self.visit_none()
        handler = getattr(self, f"visit_{predicate.op}", None)
        if handler is None:
            raise UnsupportedPredicate(f"unknown predicate kind {predicate.op!r}")
        return handler(predicate)

    def unsupported(self, predicate: Predicate | None, why: str = "") -> UnsupportedPredicate:
        op = "no filter" if predicate is None else f"{predicate.op!r}"
        return UnsupportedPredicate(f"{self.target} cannot express {op}" + (f": {why}" if why else ""))

    def visit_none(self) -> T:
        raise self.unsupported(None)

    def visit_eq(self, predicate: Eq) -> T:
        raise self.unsupported(predicate)

    def visit_in(self, predicate: In) -> T:
        raise self.unsupported(predicate)

    def visit_range(self, predicate: Range) -> T:
        raise self.unsupported(predicate)

    def visit_contains(self, predicate: Contains) -> T:
        raise self.unsupported(predicate)

    def visit_contains_all(self, predicate: ContainsAll) -> T:
        raise self.unsupported(predicate)

    def visit_contains_any(self, predicate: ContainsAny) -> T:
        raise self.unsupported(predicate)

    def visit_and(self, predicate: And) -> T:
        raise self.unsupported(predicate)

    def visit_or(self, predicate: Or) -> T:
        raise self.unsupported(predicate)

    def visit_not(self, predicate: Not) -> T:
        raise self.unsupported(predicate)


def unsupported_reason(visitor: PredicateVisitor, predicate: Predicate | None) -> str | None:
    """Why `visitor` cannot translate `predicate` (`None` if it can)."""
    try:
        visitor.visit(predicate)
    except UnsupportedPredicate as error:
        return str(error)
    return None
