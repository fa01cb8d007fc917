"""Vectorised evaluation of predicates over a typed attribute table."""

from __future__ import annotations

from functools import cached_property

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fanns_bench.errors import WorkloadError
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
    leaves,
)

CATEGORICAL, ORDERED, SET = "categorical", "ordered", "set"
ACCEPTS = {
    "eq": (CATEGORICAL, ORDERED),
    "in": (CATEGORICAL, ORDERED),
    "range": (ORDERED,),
    "contains": (SET,),
    "contains_all": (SET,),
    "contains_any": (SET,),
}


def attribute_kind(arrow_type: pa.DataType) -> str:
    """`categorical`, `ordered` or `set` for an Arrow column type."""
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        return SET
    if pa.types.is_dictionary(arrow_type):
        return CATEGORICAL
    if (
        pa.types.is_integer(arrow_type)
        or pa.types.is_floating(arrow_type)
        or pa.types.is_temporal(arrow_type)
    ):
        return ORDERED
    return CATEGORICAL


class AttributeTable:
    """An Arrow table of per-item attributes with the kind of each column."""

    def __init__(self, table: pa.Table) -> None:
        self.table = table
        self.kinds = {field.name: attribute_kind(field.type) for field in table.schema}

    @property
    def num_rows(self) -> int:
        return self.table.num_rows

    def __len__(self) -> int:
        return self.table.num_rows

    def column(self, name: str) -> pa.Array:
        """The whole column as one contiguous array (cached)."""
        return self._columns[name]

    def flat(self, name: str) -> tuple[pa.Array, np.ndarray]:
        """A list column's elements, flattened, and the row each element belongs to."""
        return self._columns.flat(name)

    @cached_property
    def _columns(self) -> _ColumnCache:
        return _ColumnCache(self.table)

    def check(self, predicate: Predicate | None) -> None:
        """Raise `WorkloadError` if a leaf names an unknown attribute or the wrong kind."""
        for leaf in leaves(predicate):
            if leaf.attr not in self.kinds:
                raise WorkloadError(
                    f"predicate {leaf.op!r} names unknown attribute {leaf.attr!r}; "
                    f"the dataset has {sorted(self.kinds)}"
                )
            kind = self.kinds[leaf.attr]
            if kind not in ACCEPTS[leaf.op]:
                raise WorkloadError(
                    f"predicate {leaf.op!r} cannot apply to attribute {leaf.attr!r} of kind "
                    f"{kind!r} ({self.table.schema.field(leaf.attr).type}); "
                    f"{leaf.op!r} needs a {' or '.join(ACCEPTS[leaf.op])} attribute"
                )

    def mask(self, predicate: Predicate | None) -> np.ndarray:
        """Boolean mask (one entry per item) of the items satisfying `predicate`."""
        self.check(predicate)
        if predicate is None:
            return np.ones(self.num_rows, dtype=bool)
        return self._mask(predicate)

    def ids(self, predicate: Predicate | None) -> np.ndarray:
        """Sorted int64 ids of the items satisfying `predicate`."""
        return np.flatnonzero(self.mask(predicate)).astype(np.int64)

    def count(self, predicate: Predicate | None) -> int:
        """How many items satisfy `predicate`."""
        return int(np.count_nonzero(self.mask(predicate)))

    def _mask(self, predicate: Predicate) -> np.ndarray:
        if isinstance(predicate, And):
            return np.logical_and.reduce([self._mask(c) for c in predicate.children])
        if isinstance(predicate, Or):
            return np.logical_or.reduce([self._mask(c) for c in predicate.children])
        if isinstance(predicate, Not):
            return ~self._mask(predicate.child)
        column = self.column(predicate.attr)
        try:
            return self._leaf_mask(predicate, column)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as error:
            raise WorkloadError(
                f"predicate {predicate!r} does not fit attribute {predicate.attr!r} ({column.type}): {error}"
            ) from None

    def _leaf_mask(self, predicate: Predicate, column: pa.Array) -> np.ndarray:
        if isinstance(predicate, Eq):
            return _to_numpy(pc.equal(column, scalar_for(predicate.value, column.type)))
        if isinstance(predicate, In):
            return _to_numpy(pc.is_in(column, value_set=_values(predicate.values, column.type)))
        if isinstance(predicate, Range):
            result = pa.array(np.ones(len(column), dtype=bool))
            if predicate.low is not None:
                low = scalar_for(predicate.low, column.type)
                result = pc.and_(result, pc.greater_equal(column, low))
            if predicate.high is not None:
                high = scalar_for(predicate.high, column.type)
                result = pc.and_(result, pc.less_equal(column, high))
            return _to_numpy(result)
        flat, parents = self._columns.flat(predicate.attr)
        if isinstance(predicate, Contains):
            return self._rows_with(pc.equal(flat, scalar_for(predicate.value, flat.type)), parents)
        if isinstance(predicate, ContainsAny):
            hits = pc.is_in(flat, value_set=_values(predicate.values, flat.type))
            return self._rows_with(hits, parents)
        if isinstance(predicate, ContainsAll):
            masks = [
                self._rows_with(pc.equal(flat, scalar_for(v, flat.type)), parents) for v in predicate.values
            ]
            return np.logical_and.reduce(masks) if masks else np.ones(self.num_rows, bool)
        raise WorkloadError(f"unknown predicate {predicate!r}")

    def _rows_with(self, element_hits: pa.Array, parents: np.ndarray) -> np.ndarray:
        mask = np.zeros(self.num_rows, dtype=bool)
        mask[parents[_to_numpy(element_hits)]] = True
        return mask


class _ColumnCache:
    """Combined column arrays and flattened list columns, computed once each."""

    def __init__(self, table: pa.Table) -> None:
        self._table = table
        self._arrays: dict[str, pa.Array] = {}
        self._flat: dict[str, tuple[pa.Array, np.ndarray]] = {}

    def __getitem__(self, name: str) -> pa.Array:
        if name not in self._arrays:
            array = self._table.column(name).combine_chunks()
            if pa.types.is_dictionary(array.type):
                array = array.dictionary_decode()
            self._arrays[name] = array
        return self._arrays[name]

    def flat(self, name: str) -> tuple[pa.Array, np.ndarray]:
        """(all list elements, the row each element belongs to)."""
        if name not in self._flat:
            column = self[name]
            parents = pc.list_parent_indices(column).to_numpy(zero_copy_only=False)
            self._flat[name] = (pc.list_flatten(column), parents.astype(np.int64))
        return self._flat[name]


def _to_numpy(mask: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(pc.fill_null(mask, False).to_numpy(zero_copy_only=False), dtype=bool)


def scalar_for(value: object, arrow_type: pa.DataType) -> pa.Scalar:
    """`value` as an Arrow scalar of `arrow_type`, or `WorkloadError` if it cannot be one."""
    try:
        return pa.scalar(value).cast(arrow_type)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        raise WorkloadError(f"value {value!r} cannot be compared with a {arrow_type} attribute") from None


def _values(values: tuple, arrow_type: pa.DataType) -> pa.Array:
    return pa.array([scalar_for(v, arrow_type).as_py() for v in values], type=arrow_type)
