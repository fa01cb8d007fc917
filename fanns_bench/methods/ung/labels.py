"""Predicates as UNG query label sets.

Items' labels come from the shared encoder (`fanns_bench/methods/common/labels.py`: one
token per (attribute, value) of the build's label attributes; an item's label set is the
union over them). A predicate becomes the set of labels a matching item must carry: `eq` on
a scalar label attribute, `contains` / `contains_all` on a set label attribute, and `and` of
those (their union). Everything else is unsupported.
"""

from __future__ import annotations

from fanns_bench.filters.evaluate import SET
from fanns_bench.filters.predicates import And, Contains, ContainsAll, Eq
from fanns_bench.filters.visitor import PredicateVisitor


def attribute_names(value: str) -> tuple[str, ...]:
    """`label_attribute` ("category" or "category,tags") as a tuple of names."""
    return tuple(name.strip() for name in value.split(",") if name.strip())


class QueryLabels(PredicateVisitor[dict[str, tuple[object, ...]]]):
    """A predicate as the labels a matching item carries: {attribute: values}.

    Needs only the attribute kinds, so `unsupported_reason` can ask it before building.
    """

    target = "UNG's label sets"

    def __init__(self, names: tuple[str, ...], kinds: dict[str, str]) -> None:
        self.names = names
        self.kinds = kinds

    def _check(self, predicate: Eq | Contains | ContainsAll, want_set: bool) -> None:
        if predicate.attr not in self.names:
            why = f"{predicate.attr!r} is not a label attribute {list(self.names)}"
            raise self.unsupported(predicate, why)
        if (self.kinds.get(predicate.attr) == SET) != want_set:
            raise self.unsupported(predicate, f"wrong attribute kind for {predicate.attr!r}")

    def visit_eq(self, predicate: Eq) -> dict[str, tuple[object, ...]]:
        self._check(predicate, want_set=False)
        return {predicate.attr: (predicate.value,)}

    def visit_contains(self, predicate: Contains) -> dict[str, tuple[object, ...]]:
        self._check(predicate, want_set=True)
        return {predicate.attr: (predicate.value,)}

    def visit_contains_all(self, predicate: ContainsAll) -> dict[str, tuple[object, ...]]:
        self._check(predicate, want_set=True)
        return {predicate.attr: tuple(predicate.values)}

    def visit_and(self, predicate: And) -> dict[str, tuple[object, ...]]:
        merged: dict[str, tuple[object, ...]] = {}
        for child in predicate.children:
            for attr, values in self.visit(child).items():
                merged[attr] = merged.get(attr, ()) + values
        return merged


def equality_reason(
    wanted: dict[str, tuple[object, ...]], names: tuple[str, ...], kinds: dict[str, str]
) -> str | None:
    """Why label-set equality would not answer this predicate exactly (None if it would).

    Equality holds for exactly the matching items when every label attribute is scalar and
    the predicate fixes each of them to one value.
    """
    if any(kinds.get(name) == SET for name in names):
        return "scenario 'equality' needs scalar label attributes (a set's full value cannot be fixed)"
    if set(wanted) != set(names) or any(len(set(v)) != 1 for v in wanted.values()):
        return f"scenario 'equality' needs one eq per label attribute {list(names)}"
    return None
