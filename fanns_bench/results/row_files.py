"""Atomic Parquet writes, one file per run key, and loading a results directory.

Layout: `<results dir>/rows/<key>.parquet`. A file appears complete or not at all
(written to a temporary sibling, then renamed), so a killed sweep never leaves a
half-written row, and a rerun sees exactly the keys that finished. A `failed` row never
replaces a measured one (`ok` or `invalid`): it goes to `attempts/` instead (`attempts.py`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from fanns_bench.atomic_files import temporary_sibling
from fanns_bench.errors import ResultsError
from fanns_bench.results.attempts import attempt_path, error_path
from fanns_bench.results.schema import COLUMNS, MEASURED, SCHEMA, STATUS_FAILED, STATUS_OK

ROWS_DIR = "rows"


def row_path(results_dir: Path, key: str) -> Path:
    return Path(results_dir) / ROWS_DIR / f"{key}.parquet"


def write_row(results_dir: Path, row: dict[str, Any]) -> Path:
    """Write one result row atomically; unknown columns are an error, missing ones null.

    A `failed` row for a key whose row on disk is measured (`MEASURED`) is written as a
    failed attempt instead, keeping the good row; the path written is returned."""
    unknown = set(row) - set(COLUMNS)
    if unknown:
        raise ResultsError(f"result row has columns not in the schema: {sorted(unknown)}")
    path = row_path(results_dir, row["key"])
    if row.get("status") == STATUS_FAILED and _status_on_disk(path) in MEASURED:
        path = attempt_path(results_dir, row["key"])
    elif row.get("status") == STATUS_OK:
        error_path(results_dir, row["key"]).unlink(missing_ok=True)  # an older failure's record
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pylist([{c: row.get(c) for c in COLUMNS}], schema=SCHEMA)
    tmp = temporary_sibling(path)
    pq.write_table(table, tmp)
    os.replace(tmp, path)
    return path


def finished_keys(results_dir: Path) -> set[str]:
    """Keys with a complete row on disk (any status)."""
    rows = Path(results_dir) / ROWS_DIR
    return {p.stem for p in rows.glob("*.parquet")} if rows.is_dir() else set()


def load_results(results_dirs: Path | Iterable[Path]) -> pd.DataFrame:
    """All rows of one or more results directories (searched recursively) as one DataFrame.

    A corrupt file raises `ResultsError` naming it.
    """
    dirs = [Path(results_dirs)] if isinstance(results_dirs, str | Path) else list(results_dirs)
    files = []
    for directory in dirs:
        if not directory.exists():
            raise ResultsError(f"{directory}: no such results directory")
        files += sorted(directory.rglob(f"{ROWS_DIR}/*.parquet"))
    if not files:
        raise ResultsError(f"no result rows under {', '.join(map(str, dirs))}")
    try:  # one multi-threaded scan over every file, in the order given
        table = ds.dataset([str(f) for f in files], schema=SCHEMA, format="parquet").to_table()
    except (pa.ArrowInvalid, OSError):
        table = pa.concat_tables([_read_row_file(file) for file in files])  # names the bad file
    frame = table.to_pandas()
    return frame.drop_duplicates("key", keep="last").reset_index(drop=True)


def _read_row_file(file: Path) -> pa.Table:
    try:
        return pq.read_table(file, schema=SCHEMA)
    except (pa.ArrowInvalid, OSError) as error:
        raise ResultsError(f"{file}: unreadable result file ({error}); delete it to redo") from None


def write_combined(results_dir: Path, frame: pd.DataFrame | None = None) -> Path:
    """Merge the per-run rows into `results.parquet` (the dataset-level view), atomically.

    `frame`: the rows, when the caller has already loaded them.
    """
    frame = load_results(results_dir) if frame is None else frame
    path = Path(results_dir) / "results.parquet"
    tmp = temporary_sibling(path)
    pq.write_table(pa.Table.from_pandas(frame, schema=SCHEMA, preserve_index=False), tmp)
    os.replace(tmp, path)
    return path


def read_status(results_dir: Path, keys: Iterable[str]) -> dict[str, tuple[str, str | None]]:
    """(status, reason) of the rows with these keys that exist on disk."""
    out = {}
    for key in keys:
        row = _read_status_row(row_path(results_dir, key))
        if row is not None:
            out[key] = (row["status"], row["reason"])
    return out


def _read_status_row(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        return pq.read_table(path, columns=["status", "reason"]).to_pylist()[0]
    except (pa.ArrowInvalid, OSError, IndexError):
        return None  # unreadable: treated as not finished, so it is redone


def _status_on_disk(path: Path) -> str | None:
    row = _read_status_row(path)
    return None if row is None else row["status"]
