"""Re-check a results directory: recompute every row's recall from its stored ids and the
ground truth the run kept beside the rows (`<results>/workloads/<workload digest>/`).

A run copies each workload's query table and exact ground truth there, so a results
directory alone is enough to re-derive every recall figure (`fanns-bench report DIR
--recompute`). Tie-aware recall also needs the vectors, so it is not recomputed here.

Beside them, `dataset.json` names the dataset the ground truth was computed on (its folder,
content hash and `facts`: items, model, dimension, archives; see `data/describe.py`): where
that folder still exists, its current content is compared with the recorded hash, so rows
whose dataset was edited since the run are reported.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from fanns_bench.atomic_files import temporary_sibling, write_text_atomic
from fanns_bench.data.dataset import Dataset, current_content_hash
from fanns_bench.data.dataset_facts import dataset_facts
from fanns_bench.errors import ResultsError
from fanns_bench.groundtruth import GroundTruth
from fanns_bench.metrics import recall_paper, recall_per_query
from fanns_bench.results.schema import MEASURED

WORKLOADS_DIR = "workloads"
FILES = ("workload.parquet", "groundtruth.npz")
DATASET_FILE = "dataset.json"
TOLERANCE = 1e-9


def keep_ground_truth(results_dir: Path, workload_dir: Path, digest: str, dataset: Dataset) -> None:
    """Copy a workload's query table and ground truth into the results directory (once),
    with `dataset.json` naming the dataset (folder, content hash) they were computed on."""
    target = Path(results_dir) / WORKLOADS_DIR / digest
    target.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        if not (target / name).is_file():
            tmp = temporary_sibling(target / name)
            shutil.copyfile(Path(workload_dir) / name, tmp)
            tmp.replace(target / name)
    if not (target / DATASET_FILE).is_file():
        record = {
            "name": dataset.name,
            "path": str(Path(dataset.path).resolve()),
            "content_hash": dataset.content_hash,
            "facts": dataset_facts(dataset.manifest),
        }
        write_text_atomic(target / DATASET_FILE, json.dumps(record, indent=1, sort_keys=True))


def dataset_records(results_dir: Path) -> list[dict]:
    """The `dataset.json` record of every workload kept in `results_dir` (unreadable ones skipped)."""
    records = []
    for path in sorted((Path(results_dir) / WORKLOADS_DIR).glob(f"*/{DATASET_FILE}")):
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def dataset_changes(results_dir: Path, digest: str) -> str | None:
    """Why the dataset a workload's ground truth was computed on no longer matches it
    (None when it matches, or when it cannot be checked: no record, folder gone)."""
    record_path = Path(results_dir) / WORKLOADS_DIR / digest / DATASET_FILE
    try:
        record = json.loads(record_path.read_text())
        path = Path(record["path"])
        if not (path / "manifest.json").is_file():
            return None
        now = current_content_hash(path)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if now == record["content_hash"]:
        return None
    return (
        f"dataset {record.get('name')!r} at {path} changed since the run (content hash "
        f"{now}, the ground truth of workload {digest} was computed on {record['content_hash']}): "
        "its rows describe the old content; rerun into a new results folder"
    )


def recompute(results_dir: Path, rows: pd.DataFrame) -> tuple[int, list[str]]:
    """(rows checked, one message per row whose stored recall differs from its ids)."""
    checked, problems = 0, []
    cache: dict[str, tuple[pd.DataFrame, GroundTruth]] = {}
    changed: dict[str, str | None] = {}
    for row in rows[rows["status"].isin(MEASURED)].itertuples():
        where = f"row {row.key} ({row.method}, {row.filter_type} @ {row.selectivity_bucket:g}, k={row.k})"
        if row.ids is None or not isinstance(row.workload_digest, str):
            problems.append(f"{where}: no stored ids or workload digest (measured before they were kept)")
            continue
        if row.workload_digest not in changed:
            changed[row.workload_digest] = dataset_changes(results_dir, row.workload_digest)
            if changed[row.workload_digest]:
                problems.append(changed[row.workload_digest])
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
