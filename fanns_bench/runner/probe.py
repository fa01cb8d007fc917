"""A machine-speed probe: one small fixed kernel, timed by the sweep before the first job and
by every job before each round of its repetitions, so a row can say how fast the machine
ran during its job compared with the start of the run (`probe_ratio`).

The kernel is a float32 matrix product of `PROBE_QUERIES` seeded query vectors against the
first `PROBE_BYTES` of the dataset's vectors (the same rows in the sweep and in every job):
it streams that block from memory, as the searches stream their index and vectors, and does
the same work (64 x 2 x 4 M multiply-adds) whatever the dimension. It runs on one thread
(`capped_threads(1)`), so the sweep process and a worker spawned with the build's thread
count time identical work; a few milliseconds on a 2-core VM.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from fanns_bench.runner.threads import capped_threads

PROBE_QUERIES = 64
PROBE_BYTES = 16 * 2**20  # float32 vectors read per probe: larger than a VM's last-level cache share
PROBE_SEED = 16  # issue 16
BASELINE_REPETITIONS = 5  # the sweep's baseline: median of this many timed probes, after one untimed


@dataclass(frozen=True)
class Probe:
    """The probe's inputs for one dataset (built once per process, outside any timing)."""

    queries: np.ndarray  # (PROBE_QUERIES, dimension) float32
    block: np.ndarray  # (rows, dimension) float32, C-contiguous: the dataset's first rows

    @classmethod
    def of(cls, vectors: np.ndarray) -> Probe:
        """The probe of a dataset whose vectors are `vectors` (rows x dimension)."""
        dimension = int(vectors.shape[1]) if vectors.ndim == 2 else 1
        rows = max(1, min(len(vectors), PROBE_BYTES // (4 * max(1, dimension))))
        block = np.ascontiguousarray(np.asarray(vectors[:rows], dtype=np.float32).reshape(rows, dimension))
        queries = np.random.default_rng(PROBE_SEED).standard_normal((PROBE_QUERIES, dimension))
        return cls(queries.astype(np.float32), block)

    def seconds(self) -> float:
        """Wall seconds of one run of the kernel, on one thread."""
        with capped_threads(1):
            start = time.perf_counter()
            np.dot(self.queries, self.block.T)
            return time.perf_counter() - start

    def baseline(self, repetitions: int = BASELINE_REPETITIONS) -> float:
        """Median seconds of `repetitions` probes after one untimed one (the sweep's reference)."""
        self.seconds()
        return float(np.median([self.seconds() for _ in range(max(1, repetitions))]))


def probe_ratio(baseline_s: float | None, job_seconds: list[float]) -> float | None:
    """Baseline probe time / the job's median probe time (< 1: the machine is slower now);
    None without a baseline or a job probe."""
    if not baseline_s or not job_seconds:
        return None
    median = float(np.median(job_seconds))
    return baseline_s / median if median > 0 else None
