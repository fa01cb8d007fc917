"""A point's timed repetitions handed from one process of its job to the next.

With `runner.processes` P > 1 (pyperf's "processes"), every build job runs in P fresh worker
processes spread over the sweep: every job's first process, then every job's second, and so
on. Each builds its own index and takes its share of each point's repetitions. Why: on a
quiet 2-core VM a whole job ran 10-15 % faster or slower than the same job in another
process a minute later (memory placement, the host's speed at the time) while its own
repetitions agreed, so one process's median could not repeat; the median over processes
taken minutes apart can.

Every process but the last leaves each point's repetitions in `processes/<key>.<n>.json`
under the results folder (written atomically); the last one puts them before its own
(`PointMeasurement.take_over`), writes the row and removes the files. A sweep interrupted
between processes resumes from the files it finds. Recall, ids and memory come from the last
process's build (identical for a deterministic build).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fanns_bench.atomic_files import write_text_atomic

FOLDER = "processes"


def share(repetitions: int, processes: int, process: int) -> int:
    """Repetitions process `process` (0-based) of `processes` takes: an even split, the
    earlier processes taking one more where it does not divide."""
    return repetitions // processes + (process < repetitions % processes)


def handover_path(results_dir: Path, key: str, process: int) -> Path:
    return results_dir / FOLDER / f"{key}.{process}.json"


def write_handover(results_dir: Path, key: str, process: int, data: dict[str, Any]) -> None:
    write_text_atomic(handover_path(results_dir, key, process), json.dumps(data))


def has_handover(results_dir: Path, key: str, process: int) -> bool:
    return handover_path(results_dir, key, process).is_file()


def read_handovers(results_dir: Path, key: str, process: int) -> list[dict[str, Any]]:
    """The handovers of processes 0..process-1 of `key` that exist, in order."""
    found = []
    for earlier in range(process):
        path = handover_path(results_dir, key, earlier)
        if path.is_file():
            found.append(json.loads(path.read_text()))
    return found


def remove_handovers(results_dir: Path, keys: list[str]) -> None:
    """Remove every handover file of `keys` (the row is written, or the sweep starts over)."""
    folder = results_dir / FOLDER
    if not folder.is_dir():
        return
    for key in keys:
        for path in folder.glob(f"{key}.*.json"):
            path.unlink(missing_ok=True)
