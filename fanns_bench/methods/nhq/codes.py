"""Attribute values as NHQ's per-item attribute codes, and predicates as query codes.

NHQ gives every item one categorical code per attribute (its "attribute vector") and answers
a query that fixes every one of those attributes: `eq` on a single attribute, or an `and` of
one `eq` per attribute (multi-attribute equality). A null value gets code -1, which equals
nothing; a query value no item has gets code -2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fanns_bench.errors import MethodError
from fanns_bench.filters.evaluate import SET, AttributeTable
from fanns_bench.filters.predicates import And, Eq
from fanns_bench.filters.visitor import PredicateVisitor

NULL_CODE = -1
ABSENT_CODE = -2


def attribute_names(value: str) -> tuple[str, ...]:
    """`attributes` ("category" or "category,color") as a tuple of names."""
    return tuple(name.strip() for name in value.split(",") if name.strip())


@dataclass
class AttributeCodes:
    """Codes of every item (N x A int32) and each attribute's value -> code map."""

    attributes: tuple[str, ...]
    codes: np.ndarray
    vocabulary: list[dict[object, int]]
    value_types: list[pa.DataType]

    def query_row(self, values: dict[str, object]) -> list[int]:
        """The codes of one query (`values` fixes every attribute)."""
        row = []
        for attr, vocabulary, value_type in zip(
            self.attributes, self.vocabulary, self.value_types, strict=True
        ):
            try:
                value = pa.scalar(values[attr]).cast(value_type).as_py()
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
                raise MethodError(
                    f"value {values[attr]!r} cannot be compared with attribute {attr!r} ({value_type})"
                ) from None
            row.append(vocabulary.get(value, ABSENT_CODE))
        return row


def encode(attributes: AttributeTable, names: tuple[str, ...]) -> AttributeCodes:
    """Per-item codes of the scalar attributes `names`."""
    columns, vocabulary, value_types = [], [], []
    for name in names:
        if name not in attributes.kinds:
            raise MethodError(
                f"attribute {name!r} is not an attribute of the dataset; it has {sorted(attributes.kinds)}"
            )
        if attributes.kinds[name] == SET:
            raise MethodError(f"NHQ needs scalar attributes; {name!r} is a set attribute")
        column = attributes.column(name)
        encoded = pc.dictionary_encode(column)
        indices = encoded.indices.fill_null(NULL_CODE).to_numpy(zero_copy_only=False).astype(np.int32)
        columns.append(indices)
        vocabulary.append({value: code for code, value in enumerate(encoded.dictionary.to_pylist())})
        value_types.append(column.type)
    codes = np.ascontiguousarray(np.stack(columns, axis=1), dtype=np.int32)
    return AttributeCodes(names, codes, vocabulary, value_types)


class QueryValues(PredicateVisitor[dict[str, object]]):
    """A predicate as {attribute: value}: one `eq` per attribute of the build."""

    target = "NHQ's attribute vector"

    def __init__(self, names: tuple[str, ...], kinds: dict[str, str]) -> None:
        self.names = names
        self.kinds = kinds

    def visit(self, predicate):  # type: ignore[override]
        values = self._values(predicate)
        if set(values) != set(self.names):
            raise self.unsupported(predicate, f"NHQ needs one eq on each of {list(self.names)}")
        return values

    def _values(self, predicate) -> dict[str, object]:
        return super().visit(predicate)

    def visit_eq(self, predicate: Eq) -> dict[str, object]:
        if predicate.attr not in self.names or self.kinds.get(predicate.attr) == SET:
            raise self.unsupported(
                predicate, f"{predicate.attr!r} is not one of the attributes {list(self.names)}"
            )
        return {predicate.attr: predicate.value}

    def visit_and(self, predicate: And) -> dict[str, object]:
        merged: dict[str, object] = {}
        for child in predicate.children:
            for attr, value in self._values(child).items():
                if attr in merged:
                    raise self.unsupported(predicate, f"two conditions on {attr!r}")
                merged[attr] = value
        return merged
