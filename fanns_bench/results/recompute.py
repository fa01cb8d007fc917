"""Re-check a results directory: recompute every row's recall from its stored ids and the
ground truth the run kept beside the rows (`<results>/workloads/<workload digest>/`).

A run copies each workload's query table and exact ground truth there, so a results
directory alone is enough to re-derive every recall figure (`fanns-bench report DIR
--recompute`). Tie-aware recall also needs the vectors, so it is not recomputed here.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from fanns_bench.atomic_files import temporary_sibling
from fanns_bench.errors import ResultsError
from fanns_bench.groundtruth import GroundTruth
from fanns_bench.metrics import recall_paper, recall_per_query
from fanns_bench.results.schema import STATUS_OK

WORKLOADS_DIR = "workloads"
FILES = ("workload.parquet", "groundtruth.npz")
TOLERANCE = 1e-9


def keep_ground_truth(results_dir: Path, workload_dir: Path, digest: str) -> None:
    """Copy a workload's query table and ground truth into the results directory (once)."""
    target = Path(results_dir) / WORKLOADS_DIR / digest
    if all((target / name).is_file() for name in FILES):
        return
    target.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        tmp = temporary_sibling(target / name)
        shutil.copyfile(Path(workload_dir) / name, tmp)
        tmp.replace(target / name)


def recompute(results_dir: Path, rows: pd.DataFrame) -> tuple[int, list[str]]:
    """(rows checked, one message per row whose stored recall differs from its ids)."""
    checked, problems = 0, []
    cache: dict[str, tuple[pd.DataFrame, GroundTruth]] = {}
    for row in rows[rows["status"] == STATUS_OK].itertuples():
        where = f"row {row.key} ({row.method}, {row.filter_type} @ {row.selectivity_bucket:g}, k={row.k})"
        if row.ids is None or not isinstance(row.workload_digest, str):
            problems.append(f"{where}: no stored ids or workload digest (measured before they were kept)")
            continue
        table, truth = cache.get(row.workload_digest) or cache.setdefault(
            row.workload_digest, _load(results_dir, row.workload_digest)
        )
        group = np.flatnonzero(
            (table["filter_type"] == row.filter_type).to_numpy()
            & np.isclose(table["selectivity_bucket"].to_numpy(float), row.selectivity_bucket)
        )
        ids = np.asarray(row.ids, dtype=np.int64)
        if ids.size != len(group) * row.k:
            problems.append(f"{where}: {ids.size} stored ids, expected {len(group)} queries x k={row.k}")
            continue
        subset = GroundTruth(truth.ids[group], truth.scores[group])
        ids = ids.reshape(len(group), row.k)
        recall = recall_paper(ids, subset, row.k)
        per_query = recall_per_query(ids, subset, row.k)
        stored = np.asarray(row.recall_per_query, dtype=np.float64)
        if not np.isclose(recall, row.recall, atol=TOLERANCE, equal_nan=True):
            problems.append(f"{where}: recall {row.recall!r} stored, {recall!r} from its ids")
        elif not np.allclose(per_query, stored, atol=1e-6, equal_nan=True):
            problems.append(f"{where}: per-query recall differs from its ids")
        checked += 1
    return checked, problems


def _load(results_dir: Path, digest: str) -> tuple[pd.DataFrame, GroundTruth]:
    directory = Path(results_dir) / WORKLOADS_DIR / digest
    if not all((directory / name).is_file() for name in FILES):
        raise ResultsError(
            f"{directory}: the run's workload and ground truth are missing; rerun to keep them"
        )
    return pd.read_parquet(directory / "workload.parquet"), GroundTruth.load(directory / "groundtruth.npz")
