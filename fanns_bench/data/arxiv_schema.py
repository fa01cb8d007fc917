"""The 11 arXiv attributes of `arxiv-for-fanns`: their Arrow schema and the published JSONL form.

Keys and types follow the published `database_attributes.jsonl` (paper Table 3; note
`has_comments` with an *s*). Key order follows the published example record.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa

from fanns_bench.errors import DatasetError
from fanns_bench.filters.evaluate import attribute_kind

ATTRIBUTE_SCHEMA = pa.schema(
    [
        ("submitter", pa.string()),
        ("has_comments", pa.bool_()),
        ("main_categories", pa.list_(pa.string())),
        ("sub_categories", pa.list_(pa.string())),
        ("number_of_main_categories", pa.int64()),
        ("number_of_sub_categories", pa.int64()),
        ("license", pa.string()),
        ("number_of_versions", pa.int64()),
        ("update_date", pa.int64()),
        ("authors", pa.list_(pa.string())),
        ("number_of_authors", pa.int64()),
    ]
)
ATTRIBUTE_KEYS = tuple(ATTRIBUTE_SCHEMA.names)
ATTRIBUTE_KINDS = {field.name: attribute_kind(field.type) for field in ATTRIBUTE_SCHEMA}
NULLABLE_KEYS = frozenset({"submitter", "license", "number_of_versions"})
READ_BATCH_ROWS = 65536


def attributes_table(rows: list[dict[str, Any]]) -> pa.Table:
    """Typed table from attribute dicts (each with exactly the 11 keys)."""
    columns = {key: [row[key] for row in rows] for key in ATTRIBUTE_KEYS}
    return pa.Table.from_pydict(columns, schema=ATTRIBUTE_SCHEMA)


def check_attribute_row(row: Any, where: str) -> dict[str, Any]:
    """Validate one published attribute object; raise `DatasetError` naming `where` and the key."""
    if not isinstance(row, dict):
        raise DatasetError(f"{where}: expected a JSON object, found {type(row).__name__}")
    missing = [key for key in ATTRIBUTE_KEYS if key not in row]
    if missing:
        raise DatasetError(f"{where}: missing key(s) {missing}; expected {list(ATTRIBUTE_KEYS)}")
    for key, arrow_type in zip(ATTRIBUTE_KEYS, ATTRIBUTE_SCHEMA.types, strict=True):
        value = row[key]
        if value is None and key in NULLABLE_KEYS:
            continue
        if not _fits(value, arrow_type):
            raise DatasetError(f"{where}: key {key!r} holds {value!r}; expected {_describe(arrow_type)}")
    return {key: row[key] for key in ATTRIBUTE_KEYS}


def write_attributes_jsonl(table: pa.Table, path: str | Path) -> int:
    """Write a table in the published `database_attributes.jsonl` form; returns the row count."""
    path = Path(path)
    rows = 0
    with open(path, "w", encoding="utf-8") as handle:
        for batch in table.select(list(ATTRIBUTE_KEYS)).to_batches():
            for row in batch.to_pylist():
                handle.write(json.dumps(row) + "\n")
                rows += 1
    return rows


def read_attributes_jsonl(path: str | Path) -> pa.Table:
    """Read a published-form attribute file (line i = item i), checking every line."""
    path = Path(path)
    tables: list[pa.Table] = []
    rows: list[dict[str, Any]] = []
    for number, line in _numbered_lines(path):
        try:
            data = json.loads(line)
        except json.JSONDecodeError as error:
            raise DatasetError(f"{path}:{number}: not valid JSON ({error})") from None
        rows.append(check_attribute_row(data, f"{path}:{number}"))
        if len(rows) == READ_BATCH_ROWS:
            tables.append(attributes_table(rows))
            rows = []
    tables.append(attributes_table(rows))
    return pa.concat_tables(tables).combine_chunks()


def _numbered_lines(path: Path) -> Iterable[tuple[int, str]]:
    if not path.is_file():
        raise DatasetError(f"{path}: attribute file not found")
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                yield number, line


def _fits(value: Any, arrow_type: pa.DataType) -> bool:
    if pa.types.is_boolean(arrow_type):
        return isinstance(value, bool)
    if pa.types.is_integer(arrow_type):
        return isinstance(value, int) and not isinstance(value, bool)
    if pa.types.is_string(arrow_type):
        return isinstance(value, str)
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _describe(arrow_type: pa.DataType) -> str:
    if pa.types.is_list(arrow_type):
        return "a list of strings"
    return {"bool": "true/false", "int64": "an integer", "string": "a string"}[str(arrow_type)]
