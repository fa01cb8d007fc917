"""Failed attempts kept apart from the rows, and each failed point's traceback.

A `failed` row never replaces an `ok` row (a --force rerun hit by a timeout, a crash, an
out-of-memory kill or a transient error): the good row stays in `rows/` and the failed
attempt is written to `<results>/attempts/<key>.<time>.parquet` (same columns), which
`load_results` does not read. `failed_attempts` lists them for the summary and report.

Every failed point also gets `<results>/errors/<key>.txt`: the error and, where the
failure raised in Python, its traceback; `report.quality.traceback_tail` reads its last lines.
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from fanns_bench.atomic_files import write_text_atomic

ATTEMPTS_DIR = "attempts"
ERRORS_DIR = "errors"


def attempt_path(results_dir: Path, key: str) -> Path:
    """A new file for a failed attempt at `key` (names sort by time)."""
    stamp = time.strftime("%Y%m%dT%H%M%S") + f"{time.time() % 1:.6f}"[1:]
    return Path(results_dir) / ATTEMPTS_DIR / f"{key}.{stamp}.parquet"


def attempt_files(results_dir: Path, key: str | None = None) -> list[Path]:
    """The attempt files of `key` (default: of every key), oldest first."""
    folder = Path(results_dir) / ATTEMPTS_DIR
    pattern = f"{key}.*.parquet" if key else "*.parquet"
    return sorted(folder.glob(pattern)) if folder.is_dir() else []


def failed_attempts(results_dir: Path, since: float | None = None) -> pd.DataFrame:
    """Failed attempts whose `ok` row was kept, one row each (the result-row columns plus
    `attempt_file`), oldest first; `since`: only files written at or after this epoch time.
    Empty when there are none."""
    files = [f for f in attempt_files(results_dir) if since is None or f.stat().st_mtime >= since - 1.0]
    if not files:
        return pd.DataFrame()
    frame = pa.concat_tables([pq.read_table(f) for f in files]).to_pandas()
    frame["attempt_file"] = [str(f) for f in files]
    return frame


def error_path(results_dir: Path, key: str) -> Path:
    return Path(results_dir) / ERRORS_DIR / f"{key}.txt"


def write_error(results_dir: Path, key: str, text: str) -> Path:
    """Record why point `key` failed (atomically; replaces an older record)."""
    return write_text_atomic(error_path(results_dir, key), text if text.endswith("\n") else text + "\n")
