"""Attribute values as integer labels: one token per (attribute, value).

Label-filtered indexes (Filtered-DiskANN through diskannpy, our FilteredVamana /
StitchedVamana, CAPS) are built on the labels of one or more attributes
(`label_attribute`): a scalar attribute gives each item its value (none when null), a set
attribute each element. The tokens of all label attributes are disjoint and each
attribute's tokens are consecutive, so one encoding answers `eq`/`contains` on any of them.
Queries are translated with the predicate visitor: `LabelToken` (one label per query) and
`AttributeTokens` (an equality per attribute). The diskann worker passes token t to
diskannpy as the label "L<t>", so attribute values with commas, or equal to diskannpy's
reserved `default` label, never reach its label file.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fanns_bench.errors import MethodError
from fanns_bench.filters.evaluate import SET, AttributeTable
from fanns_bench.filters.predicates import And, Contains, Eq, Predicate
from fanns_bench.filters.visitor import PredicateVisitor

NO_LABEL = -1  # a value no item carries: the query has no matches
UNFILTERED = -2  # no predicate: unfiltered search


@dataclass
class LabelEncoding:
    """Per-item label tokens in CSR form, and the (attribute, value) -> token vocabulary."""

    attributes: tuple[str, ...]
    offsets: np.ndarray  # int64, num_items + 1
    tokens: np.ndarray  # int32, the tokens of item i are tokens[offsets[i]:offsets[i+1]]
    vocabulary: dict[tuple[str, object], int]
    value_types: dict[str, pa.DataType]

    @property
    def label_count(self) -> int:
        return len(self.vocabulary)

    def lookup(self, attr: str, value: object) -> int:
        """The token of `attr == value`, `NO_LABEL` if no item has that value.

        A value that cannot be compared with the attribute is a `MethodError`."""
        value_type = self.value_types[attr]
        try:
            value = pa.scalar(value).cast(value_type).as_py()
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            raise MethodError(
                f"value {value!r} cannot be compared with attribute {attr!r} ({value_type})"
            ) from None
        return self.vocabulary.get((attr, value), NO_LABEL)

    def token(self, predicate: Predicate | None) -> int:
        """The label of one query: its value's token, `NO_LABEL` or `UNFILTERED`."""
        return LabelToken(self).visit(predicate)

    def value_matrix(self) -> np.ndarray:
        """(items, attributes) int64: the token of each item's value per attribute, -1 if null.

        Only for scalar label attributes (one value per item and attribute)."""
        if np.any(np.diff(self.offsets) > len(self.attributes)):
            raise MethodError(f"value_matrix needs scalar label attributes, not {list(self.attributes)}")
        matrix = np.full((len(self.offsets) - 1, len(self.attributes)), -1, dtype=np.int64)
        starts = self.attribute_starts()
        rows = np.repeat(np.arange(len(self.offsets) - 1), np.diff(self.offsets))
        columns = np.searchsorted(starts, self.tokens, side="right") - 1
        matrix[rows, columns] = self.tokens
        return matrix

    def attribute_starts(self) -> np.ndarray:
        """First token of each label attribute (tokens of attribute i are consecutive)."""
        counts = [sum(1 for name, _ in self.vocabulary if name == attr) for attr in self.attributes]
        return np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)


class LabelToken(PredicateVisitor[int]):
    """Predicate -> one label token: `eq` on a labelled scalar attribute, `contains` on a
    labelled set attribute, or no filter. Every other kind is unsupported."""

    target = "one Filtered-DiskANN label"

    def __init__(self, encoding: LabelEncoding) -> None:
        self.encoding = encoding

    def visit_none(self) -> int:
        return UNFILTERED

    def visit_eq(self, predicate: Eq) -> int:
        return self._token(predicate.attr, predicate.value, predicate)

    def visit_contains(self, predicate: Contains) -> int:
        return self._token(predicate.attr, predicate.value, predicate)

    def _token(self, attr: str, value: object, predicate: Predicate) -> int:
        if attr not in self.encoding.value_types:
            raise self.unsupported(predicate, f"labels were built on {list(self.encoding.attributes)}")
        return self.encoding.lookup(attr, value)


class QueryLabel(LabelToken):
    """`LabelToken` that also checks the attribute kind: `eq` on a scalar label attribute,
    `contains` on a set label attribute."""

    def __init__(self, encoding: LabelEncoding, kinds: dict[str, str]) -> None:
        super().__init__(encoding)
        self.kinds = kinds

    def visit_eq(self, predicate: Eq) -> int:
        if self.kinds.get(predicate.attr) == SET:
            raise self.unsupported(predicate, f"{predicate.attr!r} is a set attribute; use 'contains'")
        return super().visit_eq(predicate)

    def visit_contains(self, predicate: Contains) -> int:
        if self.kinds.get(predicate.attr) != SET:
            raise self.unsupported(predicate, f"{predicate.attr!r} is not a set attribute")
        return super().visit_contains(predicate)


class AttributeTokens(PredicateVisitor[dict[str, int]]):
    """Required token per label attribute: `eq`, or a conjunction of `eq` on label attributes."""

    target = "an equality per attribute"

    def __init__(self, encoding: LabelEncoding, kinds: dict[str, str]) -> None:
        self.tokens = LabelToken(encoding)
        self.encoding = encoding
        self.kinds = kinds

    def visit_none(self) -> dict[str, int]:
        return {}

    def visit_eq(self, predicate: Eq) -> dict[str, int]:
        if predicate.attr not in self.encoding.value_types or self.kinds.get(predicate.attr) == SET:
            raise self.unsupported(
                predicate, f"equality on the scalar label attributes {list(self.encoding.attributes)} only"
            )
        return {predicate.attr: self.tokens.visit(predicate)}

    def visit_and(self, predicate: And) -> dict[str, int]:
        tokens: dict[str, int] = {}
        for part in predicate.children:
            for attr, token in self.visit(part).items():
                # two different values of one attribute: nothing matches
                tokens[attr] = NO_LABEL if attr in tokens and tokens[attr] != token else token
        return tokens


def encode_labels(attributes: AttributeTable, names: list[str]) -> LabelEncoding:
    """Label tokens of every item from the attributes `names` (see module docstring)."""
    parents, tokens, vocabulary, value_types = [], [], {}, {}
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
        tokens.append(encoded.indices.to_numpy(zero_copy_only=False).astype(np.int32) + base)
        value_types[name] = values.type
    all_parents = np.concatenate(parents) if parents else np.empty(0, np.int64)
    order = np.argsort(all_parents, kind="stable")
    offsets = np.zeros(attributes.num_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(all_parents, minlength=attributes.num_rows), out=offsets[1:])
    all_tokens = np.concatenate(tokens)[order] if tokens else np.empty(0, np.int32)
    return LabelEncoding(tuple(names), offsets, all_tokens, vocabulary, value_types)


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
