"""Filter templates: how one filter type draws predicates for a target selectivity.

A template proposes predicates; the workload generator evaluates each proposal exactly
and keeps it only when the achieved selectivity falls in the bucket. `sample` draws a
predicate the way the seed paper does: from the attributes of a random database item.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pyarrow.compute as pc

from fanns_bench.errors import ConfigError
from fanns_bench.filters.evaluate import CATEGORICAL, ORDERED, SET, AttributeTable
from fanns_bench.filters.predicates import And, Contains, Eq, Predicate, Range, _plain


class Template:
    """Base: `propose(rng, target)` -> predicate near `target` selectivity, or None."""

    kinds: tuple[str, ...] = ()

    def __init__(self, table: AttributeTable, attribute: str) -> None:
        if attribute not in table.kinds:
            raise ConfigError(
                f"filter on unknown attribute {attribute!r}; the dataset has {sorted(table.kinds)}"
            )
        if table.kinds[attribute] not in self.kinds:
            raise ConfigError(
                f"{type(self).__name__} filter needs a {' or '.join(self.kinds)} attribute, "
                f"but {attribute!r} is {table.kinds[attribute]}"
            )
        self.table = table
        self.attribute = attribute

    def propose(self, rng: np.random.Generator, target: float) -> Predicate | None:
        raise NotImplementedError

    def sample(self, rng: np.random.Generator) -> Predicate:
        raise NotImplementedError


class _ValueTemplate(Template):
    """Templates whose predicates pick one value (`Eq`, `Contains`)."""

    def _make(self, value: Any) -> Predicate:
        raise NotImplementedError

    @cached_property
    def _counts(self) -> tuple[np.ndarray, np.ndarray]:
        return value_counts(self.table, self.attribute)

    def propose(self, rng: np.random.Generator, target: float) -> Predicate | None:
        values, counts = self._counts
        fractions = counts / self.table.num_rows
        order = np.argsort(np.abs(np.log(fractions) - np.log(target)))
        nearest = order[: max(1, min(8, len(order)))]
        return self._make(values[rng.choice(nearest)])


class EqTemplate(_ValueTemplate):
    """`attribute == value` (exact match, the paper's EM)."""

    kinds = (CATEGORICAL, ORDERED)

    def _make(self, value: Any) -> Predicate:
        return Eq(self.attribute, _plain(value))

    def sample(self, rng: np.random.Generator) -> Predicate:
        return self._make(_random_value(self.table, self.attribute, rng))


class ContainsTemplate(_ValueTemplate):
    """`value in attribute` on a list attribute (the paper's EMIS)."""

    kinds = (SET,)

    def _make(self, value: Any) -> Predicate:
        return Contains(self.attribute, _plain(value))

    def sample(self, rng: np.random.Generator) -> Predicate:
        while True:
            items = _random_value(self.table, self.attribute, rng)
            if items:
                return self._make(items[rng.integers(len(items))])


class RangeTemplate(Template):
    """`low <= attribute <= high` on an ordered attribute (the paper's R)."""

    kinds = (ORDERED,)

    @cached_property
    def _sorted(self) -> np.ndarray:
        column = self.table.column(self.attribute).drop_null()
        return np.sort(column.to_numpy(zero_copy_only=False))

    def propose(self, rng: np.random.Generator, target: float) -> Predicate | None:
        values = self._sorted
        width = max(1, round(target * self.table.num_rows))
        if width > len(values):
            return None
        start = int(rng.integers(0, len(values) - width + 1))
        return Range(self.attribute, _plain(values[start]), _plain(values[start + width - 1]))

    def sample(self, rng: np.random.Generator) -> Predicate:
        values = self._sorted
        low, high = sorted(values[rng.integers(0, len(values), 2)])
        return Range(self.attribute, _plain(low), _plain(high))


class AndTemplate:
    """Conjunction of two or more templates; selectivity split at random between parts."""

    def __init__(self, parts: list[Template]) -> None:
        if len(parts) < 2:
            raise ConfigError("an 'and' filter needs at least two parts")
        self.parts = parts
        self.attribute = "+".join(p.attribute for p in parts)

    def propose(self, rng: np.random.Generator, target: float) -> Predicate | None:
        shares = rng.dirichlet(np.ones(len(self.parts)))
        children = [p.propose(rng, target**share) for p, share in zip(self.parts, shares, strict=True)]
        if any(c is None for c in children):
            return None
        return And(tuple(children))

    def sample(self, rng: np.random.Generator) -> Predicate:
        return And(tuple(p.sample(rng) for p in self.parts))


TEMPLATES: dict[str, type[Template]] = {
    "eq": EqTemplate,
    "contains": ContainsTemplate,
    "range": RangeTemplate,
}


@dataclass(frozen=True)
class FilterSpec:
    """One filter type of a workload config: its label and how to draw its predicates."""

    type: str
    template: str
    attribute: str | None = None
    parts: tuple[FilterSpec, ...] = ()
    selectivities: tuple[float, ...] | None = None  # buckets this filter fills (default: all)

    @classmethod
    def from_config(cls, data: dict[str, Any]) -> FilterSpec:
        try:
            parts = tuple(cls.from_config({"type": "part", **p}) for p in data.get("parts", ()))
            targets = data.get("selectivities")
            targets = None if targets is None else tuple(float(t) for t in targets)
            return cls(data["type"], data["template"], data.get("attribute"), parts, targets)
        except KeyError as missing:
            raise ConfigError(f"workload filter {data!r} lacks the key {missing}") from None

    def make(self, table: AttributeTable) -> Template | AndTemplate | None:
        """The template object; `None` for the unfiltered type."""
        if self.template == "none":
            return None
        if self.template == "and":
            return AndTemplate([part.make(table) for part in self.parts])
        if self.template not in TEMPLATES:
            raise ConfigError(
                f"filter {self.type!r}: unknown template {self.template!r}; "
                f"expected one of {sorted(TEMPLATES) + ['and', 'none']}"
            )
        if self.attribute is None:
            raise ConfigError(f"filter {self.type!r}: template {self.template!r} needs 'attribute'")
        return TEMPLATES[self.template](table, self.attribute)


def value_counts(table: AttributeTable, attribute: str) -> tuple[np.ndarray, np.ndarray]:
    """(values, items holding each): of a scalar attribute, or of the labels of a set attribute
    (an item counts once per label however often the label repeats in its list)."""
    column = table.column(attribute)
    if table.kinds[attribute] != SET:
        counts = pc.value_counts(column.drop_null())
        return counts.field("values").to_numpy(zero_copy_only=False), counts.field("counts").to_numpy()
    parents = pc.list_parent_indices(column).to_numpy()
    flat = pc.list_flatten(column).to_numpy(zero_copy_only=False)
    values, inverse = np.unique(flat, return_inverse=True)
    pairs = np.unique(np.stack([inverse, parents]), axis=1)  # one count per row
    return values, np.bincount(pairs[0], minlength=len(values))


def _random_value(table: AttributeTable, attribute: str, rng: np.random.Generator) -> Any:
    column = table.column(attribute)
    while True:
        value = column[int(rng.integers(len(column)))].as_py()
        if value is not None:
            return value
