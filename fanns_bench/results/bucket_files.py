"""The bucket table of each workload a sweep ran, kept beside the result rows.

Layout: `<results dir>/workloads/<dataset>__<workload>__<digest>.parquet`, one row per
filter type x selectivity bucket (`fanns_bench.workloads.workload.BUCKET_COLUMNS`) plus the
dataset, workload and digest. Reports read it to show what each bucket holds and lacks,
including buckets left empty (which have no result rows).
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

BUCKETS_DIR = "workloads"


def write_buckets(results_dir: Path, dataset: str, workload: str, digest: str, table: pd.DataFrame) -> Path:
    """Write one workload's bucket table atomically."""
    path = Path(results_dir) / BUCKETS_DIR / f"{dataset}__{workload}__{digest}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = table.assign(dataset=dataset, workload=workload, workload_digest=digest)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    frame.to_parquet(tmp, index=False)
    os.replace(tmp, path)
    return path


def load_buckets(results_dir: Path) -> pd.DataFrame:
    """Every bucket table of `results_dir`; per (dataset, workload) only the newest digest."""
    paths = sorted((Path(results_dir) / BUCKETS_DIR).glob("*.parquet"), key=lambda p: p.stat().st_mtime)
    if not paths:
        return pd.DataFrame()
    frames = [pd.read_parquet(p).assign(_order=i) for i, p in enumerate(paths)]
    frame = pd.concat(frames, ignore_index=True)
    newest = frame.groupby(["dataset", "workload"])["_order"].transform("max")
    return frame[frame["_order"] == newest].drop(columns="_order").reset_index(drop=True)
