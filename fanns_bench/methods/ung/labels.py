"""Attribute values as UNG labels, and predicates as query label sets.

Every (attribute, value) of the build's label attributes becomes one integer label: a scalar
attribute gives an item its value (none when null), a set attribute each element. An item's
label set is the union over the label attributes. A predicate becomes the set of labels a
matching item must carry: `eq` on a scalar label attribute, `contains` / `contains_all` on a
set label attribute, and `and` of those (their union). Everything else is unsupported.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fanns_bench.errors import MethodError
from fanns_bench.filters.evaluate import SET, AttributeTable
from fanns_bench.filters.predicates import And, Contains, ContainsAll, Eq
from fanns_bench.filters.visitor import PredicateVisitor


def attribute_names(value: str) -> tuple[str, ...]:
    """`label_attribute` ("category" or "category,tags") as a tuple of names."""
    return tuple(name.strip() for name in value.split(",") if name.strip())


@dataclass
class LabelSets:
    """Per-item label sets (CSR) and the (attribute, value) -> label vocabulary."""

    attributes: tuple[str, ...]
    offsets: np.ndarray  # int64, items + 1
    labels: np.ndarray  # int32
    vocabulary: dict[tuple[str, object], int]
    value_types: dict[str, pa.DataType]

    @property
    def unknown(self) -> int:
        """A label no item carries (a predicate value absent from the data)."""
        return len(self.vocabulary)

    def label(self, attr: str, value: object) -> int:
        """The label of `attr == value` (`unknown` if no item has it)."""
        value_type = self.value_types[attr]
        try:
            value = pa.scalar(value).cast(value_type).as_py()
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            raise MethodError(
                f"value {value!r} cannot be compared with attribute {attr!r} ({value_type})"
            ) from None
        return self.vocabulary.get((attr, value), self.unknown)


def encode(attributes: AttributeTable, names: tuple[str, ...]) -> LabelSets:
    """Label sets of every item from the attributes `names`."""
    parents, labels, vocabulary, value_types = [], [], {}, {}
    for name in names:
        if name not in attributes.kinds:
            raise MethodError(
                f"label_attribute {name!r} is not an attribute of the dataset; "
                f"it has {sorted(attributes.kinds)}"
            )
        rows, values = _values(attributes, name)
        encoded = pc.dictionary_encode(values)
        base = len(vocabulary)
        for offset, value in enumerate(encoded.dictionary.to_pylist()):
            vocabulary[(name, value)] = base + offset
        parents.append(rows)
        labels.append(encoded.indices.to_numpy(zero_copy_only=False).astype(np.int32) + base)
        value_types[name] = values.type
    all_parents = np.concatenate(parents) if parents else np.empty(0, np.int64)
    order = np.argsort(all_parents, kind="stable")
    offsets = np.zeros(attributes.num_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(all_parents, minlength=attributes.num_rows), out=offsets[1:])
    flat = np.concatenate(labels)[order] if labels else np.empty(0, np.int32)
    return LabelSets(names, offsets, np.ascontiguousarray(flat, dtype=np.int32), vocabulary, value_types)


def _values(attributes: AttributeTable, name: str) -> tuple[np.ndarray, pa.Array]:
    """(row of each non-null value, the values) of a scalar or set attribute."""
    column = attributes.column(name)
    if attributes.kinds[name] == SET:
        values = pc.list_flatten(column)
        rows = pc.list_parent_indices(column).to_numpy(zero_copy_only=False).astype(np.int64)
    else:
        values, rows = column, np.arange(len(column), dtype=np.int64)
    valid = np.asarray(values.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    return rows[valid], values.filter(pa.array(valid))


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
