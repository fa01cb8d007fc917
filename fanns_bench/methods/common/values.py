"""Attribute values in the plain Python form engines take (shared by the engine adapters).

Temporal attributes (dates, timestamps) become their integer storage value (days or
time units since the epoch), both in the stored payload and in predicate values, so
every engine compares them as integers. Dictionary columns are decoded.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from fanns_bench.errors import WorkloadError
from fanns_bench.filters.evaluate import AttributeTable


def value_type(attributes: AttributeTable, attr: str) -> pa.DataType:
    """The type of one value of `attr` (the element type for list attributes)."""
    arrow_type = attributes.column(attr).type
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        return arrow_type.value_type
    return arrow_type


def value_types(attributes: AttributeTable) -> dict[str, pa.DataType]:
    """`value_type` of every attribute."""
    return {attr: value_type(attributes, attr) for attr in attributes.kinds}


def plain_type(arrow_type: pa.DataType) -> pa.DataType:
    """The type values are stored as: temporal types become same-width integers."""
    if pa.types.is_temporal(arrow_type):
        return pa.int32() if arrow_type.bit_width == 32 else pa.int64()
    return arrow_type


def plain_column(attributes: AttributeTable, attr: str) -> list[Any]:
    """Every row's value of `attr` as Python objects (lists for list attributes)."""
    column = attributes.column(attr)
    element = value_type(attributes, attr)
    if pa.types.is_temporal(element):
        if column.type != element:
            column = column.cast(pa.list_(plain_type(element)))
        else:
            column = column.cast(plain_type(element))
    return column.to_pylist()


def plain_value(value: Any, arrow_type: pa.DataType) -> Any:
    """A predicate value cast to the attribute's `arrow_type`, in stored (plain) form."""
    try:
        scalar = pa.scalar(value).cast(arrow_type)
        if pa.types.is_temporal(arrow_type):
            scalar = scalar.cast(plain_type(arrow_type))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        raise WorkloadError(
            f"predicate value {value!r} cannot be compared with a {arrow_type} attribute"
        ) from None
    return scalar.as_py()
