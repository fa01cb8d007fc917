"""Exit codes of `fanns-bench run` and the outcome record each --multirun job leaves, so
the sweep's process can print one combined summary and exit with every job's outcome."""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fanns_bench.atomic_files import write_text_atomic

OK = 0  # every point ok or unsupported
STOPPED = 1  # the run stopped: a disk error (read-only, full, a results path that is a file)
USAGE = 2  # a usage or config error: nothing ran
FAILURES = 3  # some point of this run failed or is invalid (--allow-failures: 0)
INTERRUPTED = 130  # Ctrl-C

OUTCOMES_VARIABLE = "FANNS_BENCH_OUTCOMES"  # where --multirun jobs leave their outcome records

HELP = """\
fanns-bench run [OPTIONS] [experiment] [key=value ...]

Runs a sweep; a rerun resumes it (points with a row are skipped, failed ones retried).

Options (fanns-bench's own; everything else is Hydra's, below):
  --force             redo every point; a point that fails again keeps its earlier ok row
                      (the failed attempt is kept apart, under <results>/attempts/)
  --retry-failed      redo points whose row says failed (the default: runner.retry_failed)
  --no-retry-failed   keep failed rows as they are (unsupported points are never redone)
  --allow-failures    exit 0 even when points failed (the rows still say failed)
  --wait              wait for another run writing the same results folder, instead of exiting
  --multirun, -m      a Hydra sweep (e.g. method=exact,faiss_ivf): one combined summary at
                      the end; logs under <paths.results>/multirun/
  @FILE               the arguments in FILE, one per line ('#' lines skipped): the runoff
                      `fanns-bench recommend --runoff FILE` writes

Exit status:
  0    every point ok or unsupported
  1    the run stopped on a disk error (rerun the same command to resume once fixed)
  2    usage or config error; nothing ran
  3    some point of this run failed or is invalid (see <results>/errors/<key>.txt)
  130  interrupted (Ctrl-C): rows measured so far are kept; rerun the same command to resume
With --multirun: 2 if any job's config was refused, else 3 if any job had a failed point.
"""


@dataclass
class JobOutcome:
    """What one --multirun job reports back."""

    code: int
    results_dir: str | None = None
    keys: list[str] | None = None
    executed_jobs: int = 0
    shortfalls: list[str] | None = None
    error: str | None = None


def record_outcome(outcome: JobOutcome) -> None:
    """Leave `outcome` where the sweep's process reads it (nothing when not in a --multirun)."""
    directory = os.environ.get(OUTCOMES_VARIABLE)
    if not directory or not Path(directory).is_dir():
        return  # not a --multirun, or a job on another machine: its outcome is counted as missing
    try:  # whole or not at all: a job killed while writing leaves no half a record to read
        write_text_atomic(Path(directory) / f"{uuid.uuid4().hex}.json", json.dumps(outcome.__dict__))
    except OSError:
        pass  # the sweep's folder went away meanwhile: counted as missing


def read_outcomes(directory: Path) -> list[JobOutcome]:
    outcomes = []
    for path in sorted(Path(directory).glob("*.json")):
        data: dict[str, Any] = json.loads(path.read_text())
        outcomes.append(JobOutcome(**data))
    return outcomes


def combined_code(codes: list[int]) -> int:
    """A sweep's exit status from its jobs': a refused config first, then failures."""
    for code in (USAGE, INTERRUPTED, STOPPED, FAILURES):
        if code in codes:
            return code
    return max(codes, default=OK)
