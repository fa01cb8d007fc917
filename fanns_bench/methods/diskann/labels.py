"""Attribute values as Filtered-DiskANN labels: one integer token per distinct value.

Filtered-DiskANN labels are strings; we use the decimal token numbers ("0", "1", ...), so
attribute values containing commas, or equal to diskannpy's reserved `default` label,
never reach its label file. A scalar attribute gives each item one label (its value; none
when null); a set attribute gives each item one label per element.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fanns_bench.errors import MethodError
from fanns_bench.filters.evaluate import SET, AttributeTable
from fanns_bench.filters.predicates import Contains, Eq, Predicate

NO_LABEL = -1  # a value no item carries: the query has no matches
UNFILTERED = -2  # no predicate: unfiltered search


@dataclass
class LabelEncoding:
    """Per-item label tokens in CSR form, and the value -> token vocabulary."""

    attribute: str
    offsets: np.ndarray  # int64, num_items + 1
    tokens: np.ndarray  # int32, the tokens of item i are tokens[offsets[i]:offsets[i+1]]
    vocabulary: dict[object, int]
    value_type: pa.DataType

    @property
    def label_count(self) -> int:
        return len(self.vocabulary)

    def token(self, predicate: Predicate | None) -> int:
        """The label of one query: its value's token, `NO_LABEL` or `UNFILTERED`."""
        if predicate is None:
            return UNFILTERED
        if not isinstance(predicate, Eq | Contains) or predicate.attr != self.attribute:
            raise MethodError(
                f"diskann_filtered was built on labels of {self.attribute!r} and answers "
                f"'eq'/'contains' on it only, not {predicate!r}"
            )
        try:
            value = pa.scalar(predicate.value).cast(self.value_type).as_py()
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            raise MethodError(
                f"value {predicate.value!r} cannot be compared with attribute "
                f"{self.attribute!r} ({self.value_type})"
            ) from None
        return self.vocabulary.get(value, NO_LABEL)


def encode_labels(attributes: AttributeTable, attribute: str) -> LabelEncoding:
    """Label tokens of every item from `attribute` (scalar: its value; set: its elements)."""
    if attribute not in attributes.kinds:
        raise MethodError(
            f"label_attribute {attribute!r} is not an attribute of the dataset; "
            f"it has {sorted(attributes.kinds)}"
        )
    column = attributes.column(attribute)
    if attributes.kinds[attribute] == SET:
        values = pc.list_flatten(column)
        parents = pc.list_parent_indices(column).to_numpy(zero_copy_only=False)
    else:
        values = column
        parents = np.arange(len(column))
    valid = np.asarray(values.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    encoded = pc.dictionary_encode(values.filter(pa.array(valid)))
    offsets = np.zeros(len(column) + 1, dtype=np.int64)
    np.cumsum(np.bincount(parents[valid], minlength=len(column)), out=offsets[1:])
    vocabulary = {value: token for token, value in enumerate(encoded.dictionary.to_pylist())}
    tokens = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int32)
    return LabelEncoding(attribute, offsets, tokens, vocabulary, values.type)
