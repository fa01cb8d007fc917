"""The table layout: one SQL column per attribute, typed from its Arrow type."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from fanns_bench.errors import MethodError

ID_COLUMN, VECTOR_COLUMN = "item_id", "embedding"


@dataclass(frozen=True)
class ColumnSpec:
    """An attribute column: its SQL type, and the Arrow type its (element) values have.

    `sql_type` is the column's type (`text[]` for a set of strings); `element_type` the
    scalar type of its values or elements (`text`), used to cast bound parameters.
    """

    attr: str
    sql_type: str
    element_type: str
    arrow_value_type: pa.DataType

    @property
    def is_array(self) -> bool:
        return self.sql_type.endswith("[]")


def sql_scalar_type(arrow_type: pa.DataType) -> str:
    """The PostgreSQL type of an Arrow scalar type."""
    if pa.types.is_dictionary(arrow_type):
        return sql_scalar_type(arrow_type.value_type)
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "text"
    if pa.types.is_boolean(arrow_type):
        return "boolean"
    if pa.types.is_integer(arrow_type):
        small = arrow_type.bit_width < 32 or (
            arrow_type.bit_width == 32 and pa.types.is_signed_integer(arrow_type)
        )
        if arrow_type == pa.uint64():
            return "numeric"
        return "integer" if small else "bigint"
    if pa.types.is_floating(arrow_type):
        return "double precision"
    if pa.types.is_date(arrow_type):
        return "date"
    if pa.types.is_timestamp(arrow_type):
        return "timestamptz" if arrow_type.tz else "timestamp"
    raise MethodError(f"pgvector: no SQL column type for Arrow type {arrow_type}")


def column_spec(field: pa.Field) -> ColumnSpec:
    """The column for one attribute field."""
    if field.name in (ID_COLUMN, VECTOR_COLUMN):
        raise MethodError(
            f"pgvector: attribute {field.name!r} clashes with the table's own column of "
            f"that name ({ID_COLUMN!r}, {VECTOR_COLUMN!r}); rename the attribute"
        )
    arrow_type = field.type
    if pa.types.is_dictionary(arrow_type):
        arrow_type = arrow_type.value_type
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        value_type = arrow_type.value_type
        if pa.types.is_dictionary(value_type):
            value_type = value_type.value_type
        element = sql_scalar_type(value_type)
        return ColumnSpec(field.name, f"{element}[]", element, value_type)
    element = sql_scalar_type(arrow_type)
    return ColumnSpec(field.name, element, element, arrow_type)


def table_columns(schema: pa.Schema) -> dict[str, ColumnSpec]:
    """One `ColumnSpec` per attribute, in schema order."""
    return {field.name: column_spec(field) for field in schema}
