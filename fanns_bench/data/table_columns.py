"""Check and type the columns of a user's table: attributes of a known kind, vectors, texts.

Attribute kinds (`fanns_bench/filters/evaluate.py` reads them from the Arrow type):

- `categorical`: strings and booleans as given; numbers declared categorical become strings;
- `ordered`: numbers and dates/timestamps as given; strings declared ordered are parsed as
  ISO dates, timestamps or numbers;
- `set`: lists of labels as given; strings declared `set` are split on `list_separator`.

Every problem is one `DatasetError` naming the column and, where there is one, the row
(0-based, in the order of the source split).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fanns_bench.data.dataset import NORM_TOLERANCE
from fanns_bench.errors import ConfigError, DatasetError
from fanns_bench.filters.evaluate import CATEGORICAL, ORDERED, SET, attribute_kind

KINDS = (CATEGORICAL, ORDERED, SET)
PARSED_TYPES = (pa.date32(), pa.timestamp("us"), pa.int64(), pa.float64())
NUMBER_OR_DATE = (
    r"^\s*([-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?|\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?)\s*$"
)


def require_columns(table: pa.Table, columns: list[str], where: str) -> None:
    """Each of `columns` is in `table`, else one error naming the first missing one."""
    for column in columns:
        if column not in table.column_names:
            raise DatasetError(f"{where}: no column {column!r}; the table has {table.column_names}")


def supported(arrow_type: pa.DataType) -> bool:
    """Whether a column of this type can be an attribute as it is (no declared kind needed)."""
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):  # labels, not embeddings
        value = arrow_type.value_type
        return pa.types.is_string(value) or pa.types.is_large_string(value) or pa.types.is_integer(value)
    return _scalar(arrow_type) or pa.types.is_dictionary(arrow_type)


def attribute_column(
    column: pa.ChunkedArray, name: str, kind: str | None, separator: str | None, where: str
) -> pa.Array:
    """`column` typed for attribute `kind` (None: inferred from its type), checked."""
    if kind is not None and kind not in KINDS:
        raise ConfigError(f"{where}: kinds.{name} = {kind!r}; expected one of {list(KINDS)}")
    array = column.combine_chunks()
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    if pa.types.is_large_list(array.type):
        array = array.cast(pa.list_(array.type.value_type))
    if pa.types.is_large_string(array.type):
        array = array.cast(pa.string())
    if not supported(array.type):
        raise DatasetError(
            f"{where}: column {name!r} has type {array.type}; an attribute is a string, bool, number, "
            "date or a list of strings/integers (labels)"
        )
    if pa.types.is_floating(array.type):
        _reject_nan(array, name, where)
    if kind is None:
        if pa.types.is_string(array.type):
            _reject_mixed(array, name, where)
        return array
    current = attribute_kind(array.type)
    if kind == current:
        return array
    if kind == CATEGORICAL and current == ORDERED and not pa.types.is_temporal(array.type):
        return array.cast(pa.string())
    if kind == ORDERED and pa.types.is_string(array.type):
        return _parse_ordered(array, name, where)
    if kind == SET and pa.types.is_string(array.type):
        if not separator:
            raise ConfigError(
                f"{where}: column {name!r} holds strings; to read it as a set of labels, give "
                "list_separator (e.g. '|')"
            )
        lists = pc.split_pattern(array, separator)
        labels = pc.utf8_trim_whitespace(lists.flatten())
        return pa.ListArray.from_arrays(lists.offsets, labels, mask=lists.is_null())
    raise DatasetError(f"{where}: column {name!r} ({array.type}, {current}) cannot be read as {kind}")


def vector_matrix(
    column: pa.ChunkedArray, name: str, where: str, dimension: int | None, metric: str, normalize: bool
) -> np.ndarray:
    """A float32 matrix from a column of equal-length number lists (or JSON list strings, as a
    CSV holds them), checked: no null or ragged row, no NaN/inf, the expected dimension, and
    unit norm for metric `ip` unless `normalize`."""
    array = column.combine_chunks()
    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        array = _parse_json_lists(array, name, where)
    if pa.types.is_fixed_size_list(array.type):
        array = array.cast(pa.list_(array.type.value_type))
    if not (pa.types.is_list(array.type) or pa.types.is_large_list(array.type)) or not (
        pa.types.is_floating(array.type.value_type) or pa.types.is_integer(array.type.value_type)
    ):
        raise DatasetError(
            f"{where}: vector column {name!r} has type {array.type}; expected lists of numbers"
        )
    if array.null_count:
        row = int(np.flatnonzero(array.is_null().to_numpy(zero_copy_only=False))[0])
        raise DatasetError(f"{where}: vector column {name!r}, row {row}: no vector (null)")
    lengths = pc.list_value_length(array).to_numpy(zero_copy_only=False)
    expected = dimension if dimension is not None else int(lengths[0])
    wrong = np.flatnonzero(lengths != expected)
    if wrong.size:
        row = int(wrong[0])
        what = f"dimension {dimension}" if dimension is not None else f"row 0's {expected}"
        raise DatasetError(
            f"{where}: vector column {name!r}, row {row}: {lengths[row]} numbers; "
            f"expected {what} (ragged lists)"
        )
    values = pc.list_flatten(array).to_numpy(zero_copy_only=False)
    matrix = np.asarray(values, dtype=np.float32).reshape(len(array), expected)
    finite = np.isfinite(matrix).all(axis=1)
    if not finite.all():
        row = int(np.flatnonzero(~finite)[0])
        raise DatasetError(f"{where}: vector column {name!r}, row {row}: NaN or infinite values")
    if metric == "ip" and not normalize:
        norms = np.linalg.norm(matrix, axis=1)
        bad = np.flatnonzero(np.abs(norms - 1.0) > NORM_TOLERANCE)
        if bad.size:
            row = int(bad[0])
            raise DatasetError(
                f"{where}: vector column {name!r}, row {row}: norm {norms[row]:.4f}; metric 'ip' needs "
                "unit vectors (set normalize: true, or metric: l2)"
            )
    return matrix


def text_list(column: pa.ChunkedArray, name: str, where: str) -> list[str]:
    """The column's texts (whitespace collapsed); a null or non-string row is an error."""
    array = column.combine_chunks()
    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        raise DatasetError(f"{where}: text column {name!r} has type {array.type}; expected strings")
    if array.null_count:
        row = int(np.flatnonzero(array.is_null().to_numpy(zero_copy_only=False))[0])
        raise DatasetError(f"{where}: text column {name!r}, row {row}: no text (null)")
    return [" ".join(text.split()) for text in array.to_pylist()]


def _scalar(arrow_type: pa.DataType) -> bool:
    return (
        pa.types.is_string(arrow_type)
        or pa.types.is_large_string(arrow_type)
        or pa.types.is_boolean(arrow_type)
        or pa.types.is_integer(arrow_type)
        or pa.types.is_floating(arrow_type)
        or pa.types.is_date(arrow_type)
        or pa.types.is_timestamp(arrow_type)
    )


def _reject_nan(array: pa.Array, name: str, where: str) -> None:
    values = array.to_numpy(zero_copy_only=False)
    bad = np.flatnonzero(np.isnan(values) & ~array.is_null().to_numpy(zero_copy_only=False))
    if bad.size:
        raise DatasetError(
            f"{where}: column {name!r}, row {int(bad[0])}: NaN; write a missing value as null instead"
        )


def _reject_mixed(array: pa.Array, name: str, where: str) -> None:
    """A string column whose values are partly numbers or dates and partly text: mixed types."""
    typed = pc.fill_null(pc.match_substring_regex(array, NUMBER_OR_DATE), False).to_numpy(
        zero_copy_only=False
    )
    text = ~typed & ~array.is_null().to_numpy(zero_copy_only=False)
    if typed.any() and text.any():
        first, other = int(np.flatnonzero(typed)[0]), int(np.flatnonzero(text)[0])
        raise DatasetError(
            f"{where}: column {name!r} mixes types: row {first} holds {array[first].as_py()!r} (a number or "
            f"date), row {other} holds {array[other].as_py()!r} (text); clean the column, or declare its "
            f"kind (kinds: {{{name}: categorical}})"
        )


def _parse_ordered(array: pa.Array, name: str, where: str) -> pa.Array:
    for arrow_type in PARSED_TYPES:
        try:
            return array.cast(arrow_type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
    typed = pc.fill_null(pc.match_substring_regex(array, NUMBER_OR_DATE), True).to_numpy(zero_copy_only=False)
    rows = np.flatnonzero(~typed)
    row = int(rows[0]) if rows.size else 0
    raise DatasetError(
        f"{where}: column {name!r}, row {row}: {array[row].as_py()!r} does not parse as one type of number "
        "or ISO date (kind ordered)"
    )


def _parse_json_lists(array: pa.Array, name: str, where: str) -> pa.Array:
    rows: list[Any] = []
    for row, text in enumerate(array.to_pylist()):
        try:
            value = None if text is None else json.loads(text)
        except json.JSONDecodeError:
            value = text
        if value is not None and not (
            isinstance(value, list)
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
        ):
            raise DatasetError(
                f"{where}: vector column {name!r}, row {row}: {text[:40]!r} is not a list of numbers"
            )
        rows.append(value)
    return pa.array(rows, pa.list_(pa.float64()))
