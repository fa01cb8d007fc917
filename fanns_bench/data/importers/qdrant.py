"""Importer for qdrant's filtered-benchmark layout (qdrant/ann-filtering-benchmark-datasets).

A dataset folder holds::

    vectors.npy      N x d vectors; row i is point id i
    payloads.jsonl   N JSON objects, line i = payload of point i
    tests.jsonl      one query per line: {"query": [...], "conditions": {...},
                     "closest_ids": [...], "closest_scores": [...]}

`conditions` is `{"and": [...], "or": [...]}` (either or both; empty or null = no filter),
each entry `{field: {"match": {"value": v}}}`, `{field: {"match_any": {"any": [...]}}}` or
`{field: {"range": {"gt"|"gte"|"lt"|"lte": x}}}`. Translation to our predicates:
`match` -> Eq (Contains on a list field), `match_any` -> In (ContainsAny on a list field),
`range` -> a closed Range (strict bounds become the next integer, or the next float), and
`and`/`or` -> And/Or (both present: And(and..., Or(or...)), as qdrant's must + should).
Queries using a condition we cannot express (geo, full-text, a range on a list) are left
out and counted in the manifest.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from fanns_bench.data.dataset import Dataset, write_dataset
from fanns_bench.data.importers.common import (
    json_lines,
    workload_table,
    write_workload,
)
from fanns_bench.errors import DatasetError, WorkloadError
from fanns_bench.filters.predicates import (
    And,
    Contains,
    ContainsAny,
    Eq,
    In,
    Or,
    Predicate,
    Range,
    ops_used,
)

WORKLOAD_FILE = "workloads/qdrant.parquet"


def build(
    path: Path,
    name: str,
    *,
    source: str,
    metric: str = "ip",
    normalize: bool = True,
) -> Dataset:
    """Builder `qdrant_format`: import the folder `source` into the store at `path`.

    qdrant's `angular` datasets are cosine: keep `normalize=True`, `metric="ip"`.
    """
    source_dir = Path(source)
    vectors = _load_vectors(source_dir / "vectors.npy")
    attributes, field_kinds, skipped_fields = read_payloads(source_dir / "payloads.jsonl", vectors.shape[0])
    tests = read_tests(source_dir / "tests.jsonl")
    predicates, gt_rows, queries, dropped = [], [], [], {}
    for number, test in tests:
        try:
            predicate = translate_conditions(test.get("conditions"), field_kinds)
        except WorkloadError as error:
            reason = str(error)
            dropped[reason] = dropped.get(reason, 0) + 1
            continue
        predicates.append(predicate)
        gt_rows.append(np.asarray(test.get("closest_ids") or [], dtype=np.int64))
        queries.append(_query_vector(test, source_dir / "tests.jsonl", number))
    if not queries:
        raise DatasetError(f"{source_dir / 'tests.jsonl'}: no usable query ({dropped})")
    dataset = write_dataset(
        Path(path),
        name=name,
        vectors=vectors,
        queries=np.stack(queries),
        attributes=attributes,
        metric=metric,
        builder="qdrant_format",
        extra={
            "source": str(source_dir.resolve()),
            "format": "qdrant ann-filtering-benchmark-datasets",
            "normalized_on_import": normalize,
            "skipped_payload_fields": skipped_fields,
            "dropped_queries": dropped,
        },
        normalize=normalize,
    )
    table = workload_table("qdrant", predicates, gt_rows, dataset.attributes)
    labels = ["+".join(sorted(ops_used(p) - {"and", "or"})) or "none" for p in predicates]
    table = table.set_column(1, "filter_type", pa.array(labels, pa.string()))
    write_workload(table, Path(path) / WORKLOAD_FILE)
    return dataset


def read_payloads(path: Path, count: int) -> tuple[pa.Table, dict[str, str], dict[str, str]]:
    """Typed attribute table from `payloads.jsonl`, each field's kind, and skipped fields."""
    rows = [row for _, row in json_lines(path)]
    if len(rows) != count:
        raise DatasetError(f"{path}: {len(rows)} payload lines but {count} vectors")
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            raise DatasetError(f"{path}:{number}: payload is not a JSON object")
    fields = sorted({key for row in rows for key in row})
    columns, kinds, skipped = {}, {}, {}
    for field in fields:
        values = [row.get(field) for row in rows]
        arrow_type, reason = _field_type(values)
        if arrow_type is None:
            skipped[field] = reason
            continue
        if pa.types.is_list(arrow_type):
            values = [v if v is None or isinstance(v, list) else [v] for v in values]
        columns[field] = pa.array(values, type=arrow_type)
        kinds[field] = "list" if pa.types.is_list(arrow_type) else str(arrow_type)
    return pa.table(columns), kinds, skipped


def translate_conditions(conditions: Any, field_kinds: dict[str, str]) -> Predicate | None:
    """Our predicate for a qdrant `conditions` object (`None`: no filter)."""
    if not conditions:
        return None
    if not isinstance(conditions, dict) or set(conditions) - {"and", "or"}:
        raise WorkloadError(f"conditions {conditions!r}: expected keys 'and' and/or 'or'")
    must = _entries(conditions.get("and"), field_kinds)
    should = _entries(conditions.get("or"), field_kinds)
    children = list(must)
    if should:
        children.append(should[0] if len(should) == 1 else Or(tuple(should)))
    if not children:
        return None
    return children[0] if len(children) == 1 else And(tuple(children))


def _entries(entries: Any, field_kinds: dict[str, str]) -> list[Predicate]:
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise WorkloadError(f"condition list {entries!r} is not a list")
    out = []
    for entry in entries:
        if not isinstance(entry, dict):
            raise WorkloadError(f"condition {entry!r} is not an object")
        for field, tests in entry.items():
            if field not in field_kinds:
                raise WorkloadError(f"condition on unknown or skipped payload field {field!r}")
            for kind, criteria in tests.items():
                out.append(_leaf(field, field_kinds[field], kind, criteria))
    return out


def _leaf(field: str, field_kind: str, kind: str, criteria: dict[str, Any]) -> Predicate:
    is_list = field_kind == "list"
    if kind == "match" and "value" in criteria:
        value = criteria["value"]
        return Contains(field, value) if is_list else Eq(field, value)
    if kind == "match_any" and "any" in criteria:
        values = tuple(criteria["any"])
        return ContainsAny(field, values) if is_list else In(field, values)
    if kind == "range" and not is_list:
        integer = field_kind == "int64"
        low = _bound(criteria.get("gte"), criteria.get("gt"), integer, upward=True)
        high = _bound(criteria.get("lte"), criteria.get("lt"), integer, upward=False)
        return Range(field, low, high)
    raise WorkloadError(f"unsupported condition {kind!r} on {field_kind} field {field!r}")


def _bound(closed: Any, strict: Any, integer: bool, *, upward: bool) -> Any:
    """The tighter of a closed and a strict bound, as a closed bound."""
    candidates = []
    if closed is not None:
        rounded = math.ceil(closed) if upward else math.floor(closed)
        candidates.append(rounded if integer else closed)
    if strict is not None:
        if integer:
            candidates.append(math.floor(strict) + 1 if upward else math.ceil(strict) - 1)
        else:
            candidates.append(float(np.nextafter(strict, math.inf if upward else -math.inf)))
    if not candidates:
        return None
    return max(candidates) if upward else min(candidates)


def _field_type(values: list[Any]) -> tuple[pa.DataType | None, str]:
    present = [v for v in values if v is not None]
    elements = [e for v in present for e in (v if isinstance(v, list) else [v])]
    is_list = any(isinstance(v, list) for v in present)
    if any(isinstance(e, dict | list) for e in elements):
        return None, "nested objects (e.g. geo points) are not supported"
    scalar = _scalar_type(elements)
    if scalar is None:
        return None, "mixed value types"
    return (pa.list_(scalar) if is_list else scalar), ""


def _scalar_type(elements: list[Any]) -> pa.DataType | None:
    if all(isinstance(e, bool) for e in elements):
        return pa.bool_()
    if all(isinstance(e, int) and not isinstance(e, bool) for e in elements):
        return pa.int64()
    if all(isinstance(e, int | float) and not isinstance(e, bool) for e in elements):
        return pa.float64()
    if all(isinstance(e, str) for e in elements):
        return pa.string()
    return None


def read_tests(path: Path) -> list[tuple[int, dict[str, Any]]]:
    tests = json_lines(path)
    for number, test in tests:
        if not isinstance(test, dict) or "query" not in test:
            raise DatasetError(f"{path}:{number}: expected an object with a 'query' vector")
    return tests


def _query_vector(test: dict[str, Any], path: Path, number: int) -> np.ndarray:
    vector = np.asarray(test["query"], dtype=np.float32)
    if vector.ndim != 1:
        raise DatasetError(f"{path}:{number}: 'query' is not a flat list of numbers")
    return vector


def _load_vectors(path: Path) -> np.ndarray:
    if not path.is_file():
        raise DatasetError(f"{path}: not found")
    vectors = np.load(path, mmap_mode="r")
    if vectors.ndim != 2 or not np.issubdtype(vectors.dtype, np.floating):
        raise DatasetError(f"{path}: expected a 2-d float array, found {vectors.shape} {vectors.dtype}")
    return vectors
