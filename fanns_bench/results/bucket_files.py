"""The bucket table of each workload a sweep ran, kept beside the result rows.

Layout: `<results dir>/workloads/<workload digest>/buckets.parquet` (beside the copy of the
workload and its ground truth), one row per filter type x selectivity bucket
(`fanns_bench.workloads.workload.BUCKET_COLUMNS`) plus the dataset, workload and digest.
Reports read it to show what each bucket holds and lacks, including buckets left empty
(which have no result rows).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from fanns_bench.atomic_files import write_parquet_atomic

BUCKETS_DIR = "workloads"
BUCKETS_FILE = "buckets.parquet"


def write_buckets(results_dir: Path, dataset: str, workload: str, digest: str, table: pd.DataFrame) -> Path:
    """Write one workload's bucket table atomically."""
    path = Path(results_dir) / BUCKETS_DIR / digest / BUCKETS_FILE
    frame = table.assign(dataset=dataset, workload=workload, workload_digest=digest)
    return write_parquet_atomic(path, frame)


def load_buckets(results_dir: Path) -> pd.DataFrame:
    """Every bucket table of `results_dir`, with its `workload_digest`."""
    paths = sorted((Path(results_dir) / BUCKETS_DIR).glob(f"*/{BUCKETS_FILE}"))
    if not paths:
        return pd.DataFrame()
    return pd.concat([pd.read_parquet(p) for p in paths], ignore_index=True)
