"""What every importer shares: writing a query workload that comes with its own ground truth,
and reading JSON-lines files. (Big vector views go into the store through
`fanns_bench.data.dataset.write_dataset`, which copies them block by block.)

A *given workload* is a Parquet file, one row per query:

    query_index     int64        row of the dataset's queries.npy
    filter_type     string       e.g. EM, R, EMIS, none, or the importer's own label
    predicate_json  string       `fanns_bench.filters.predicates.to_json` ("null": no filter)
    gt_ids          list<int64>  the ground truth shipped with the data, as given (best first)
    match_count     int64        items satisfying the predicate (computed on import)
    selectivity     float64      match_count / item count
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from fanns_bench.atomic_files import temporary_sibling
from fanns_bench.errors import DatasetError, WorkloadError
from fanns_bench.filters.evaluate import AttributeTable
from fanns_bench.filters.predicates import Predicate, from_json, to_json

WORKLOAD_SCHEMA = pa.schema(
    [
        ("query_index", pa.int64()),
        ("filter_type", pa.string()),
        ("predicate_json", pa.string()),
        ("gt_ids", pa.list_(pa.int64())),
        ("match_count", pa.int64()),
        ("selectivity", pa.float64()),
    ]
)


def workload_table(
    filter_type: str,
    predicates: Sequence[Predicate | None],
    gt_rows: Sequence[np.ndarray],
    attributes: AttributeTable,
) -> pa.Table:
    """One row per query; match counts are evaluated once per distinct predicate."""
    if len(predicates) != len(gt_rows):
        raise WorkloadError(
            f"{filter_type}: {len(predicates)} predicates but {len(gt_rows)} ground-truth rows"
        )
    texts = [to_json(p) for p in predicates]
    counts: dict[str, int] = {}
    for text, predicate in zip(texts, predicates, strict=True):
        if text not in counts:
            counts[text] = attributes.count(predicate)
    match_counts = [counts[text] for text in texts]
    total = max(attributes.num_rows, 1)
    return pa.table(
        {
            "query_index": pa.array(np.arange(len(texts)), pa.int64()),
            "filter_type": pa.array([filter_type] * len(texts), pa.string()),
            "predicate_json": pa.array(texts, pa.string()),
            "gt_ids": pa.array([np.asarray(r, np.int64) for r in gt_rows], pa.list_(pa.int64())),
            "match_count": pa.array(match_counts, pa.int64()),
            "selectivity": pa.array([c / total for c in match_counts], pa.float64()),
        },
        schema=WORKLOAD_SCHEMA,
    )


def write_workload(table: pa.Table, path: Path) -> Path:
    """Write a given workload atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_sibling(path)
    pq.write_table(table, tmp)
    tmp.replace(path)
    return path


def read_workload(path: str | Path) -> tuple[pa.Table, list[Predicate | None]]:
    """A given workload and its parsed predicates."""
    path = Path(path)
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowInvalid) as error:
        raise WorkloadError(f"{path}: unreadable workload ({error})") from None
    missing = set(WORKLOAD_SCHEMA.names) - set(table.column_names)
    if missing:
        raise WorkloadError(f"{path}: missing columns {sorted(missing)}")
    return table, [from_json(text) for text in table.column("predicate_json").to_pylist()]


def json_lines(path: str | Path) -> list[tuple[int, Any]]:
    """(line number, parsed value) of each non-blank line of a JSON-lines file."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: not found")
    out = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                try:
                    out.append((number, json.loads(line)))
                except json.JSONDecodeError as error:
                    raise DatasetError(f"{path}:{number}: not valid JSON ({error})") from None
    return out
