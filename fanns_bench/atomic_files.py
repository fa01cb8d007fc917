"""Temporary names for atomic writes (write a hidden sibling, then rename it into place)."""

from __future__ import annotations

import csv
import io
import os
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd


def temporary_sibling(path: Path, suffix: str = "") -> Path:
    """A hidden sibling of `path`, unique per process and call, so concurrent writers of the
    same file (jobs of one sweep sharing a dataset or results directory) never share it.
    `suffix`: an ending the writer insists on (numpy's `savez` appends `.npz` otherwise)."""
    path = Path(path)
    return path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp{suffix}")


def write_text_atomic(path: Path, text: str) -> Path:
    """Write `text` (UTF-8) to `path` atomically, creating its folder: readers see the old
    file or the whole new one, never a part; a failed write leaves no temporary behind."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_sibling(path)
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_csv_atomic(path: Path, rows: Sequence[dict], fieldnames: Sequence[str] | None = None) -> Path:
    """`write_text_atomic` of `rows` as CSV with a header: `fieldnames` (default the first
    row's keys), a missing field written empty."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(fieldnames if fieldnames is not None else rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return write_text_atomic(path, buffer.getvalue())


def write_parquet_atomic(path: Path, frame: pd.DataFrame) -> Path:
    """Write `frame` (without its index) to `path` as Parquet atomically, creating its folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_sibling(path)
    try:
        frame.to_parquet(tmp, index=False)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
