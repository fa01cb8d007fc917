"""A machine-speed probe: one small fixed kernel, timed in a fresh process before the first job and
by every job before each round of its repetitions, so a row can say how fast the machine
ran during its job compared with the start of the run (`probe_ratio`).

The kernel multiplies `PROBE_QUERIES` seeded query vectors with the dataset's first rows
(up to `PROBE_BYTES` of float32; a smaller dataset's rows repeated to `MIN_BLOCK_BYTES`),
again until `PROBE_BYTES` have been streamed: few queries, so it is bound by memory (or
cache) bandwidth as the searches are, not by the multiply units, and the same work for every
dimension and dataset size. The reference process and every job build the same inputs and time
them on one thread (`capped_threads(1)`), with `runner.pin_cpus` on the CPU one-thread searches are pinned to
(`affinity.py`; unpinned, a quiet 2-core VM timed it 9.1-14.1 ms by process, pinned 9.4-9.8 ms),
each timed run right after an untimed one (`warm_seconds`). (64 queries, as first
sketched, made it a compute-bound matrix product; on a 77 KB test dataset one product took
0.1 ms and the jobs read 0.6x the sweep's speed on a loaded machine: timer and call
overheads, not the machine.)
"""

from __future__ import annotations

import multiprocessing
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fanns_bench.runner.threads import capped_threads

PROBE_QUERIES = 4  # 2 flops per byte read: memory-bound on any current core
PROBE_BYTES = 64 * 2**20  # bytes streamed per probe: above a VM's share of the last-level cache
MIN_BLOCK_BYTES = 4 * 2**20  # a smaller dataset's rows are repeated to this: one product, not 1,000 calls
PROBE_SEED = 16  # issue 16
BASELINE_REPETITIONS = 5  # the sweep's baseline: median of this many timed probes, after one untimed


@dataclass(frozen=True)
class Probe:
    """The probe's inputs for one dataset (built once per process, outside any timing)."""

    queries: np.ndarray  # (PROBE_QUERIES, dimension) float32
    block: np.ndarray  # (rows, dimension) float32, C-contiguous: the dataset's first rows
    passes: int  # products per probe: PROBE_BYTES streamed in all

    @classmethod
    def of(cls, vectors: np.ndarray) -> Probe:
        """The probe of a dataset whose vectors are `vectors` (rows x dimension)."""
        dimension = int(vectors.shape[1]) if vectors.ndim == 2 else 1
        rows = max(1, min(len(vectors), PROBE_BYTES // (4 * max(1, dimension))))
        block = np.asarray(vectors[:rows], dtype=np.float32).reshape(rows, dimension)
        wanted = min(PROBE_BYTES, MIN_BLOCK_BYTES) // (4 * dimension)
        if rows < wanted:
            block = np.resize(block, (wanted, dimension))  # the rows again and again
        block = np.ascontiguousarray(block)
        queries = np.random.default_rng(PROBE_SEED).standard_normal((PROBE_QUERIES, dimension))
        return cls(queries.astype(np.float32), block, max(1, PROBE_BYTES // block.nbytes))

    def seconds(self) -> float:
        """Wall seconds of one run of the kernel, on one thread."""
        with capped_threads(1):
            queries, block = self.queries, self.block.T
            start = time.perf_counter()
            for _ in range(self.passes):
                np.dot(queries, block)
            return time.perf_counter() - start

    def warm_seconds(self) -> float:
        """`seconds` of a run right after an untimed one, as every baseline run is: the job's
        searches between two rounds evict the block from the caches, and a cold run read
        0.72-0.79x the baseline's speed on every job of a quiet or loaded run (issue 16)."""
        self.seconds()
        return self.seconds()

    def baseline(self, repetitions: int = BASELINE_REPETITIONS) -> float:
        """Median seconds of `repetitions` probes after one untimed one (the sweep's reference)."""
        self.seconds()
        return float(np.median([self.seconds() for _ in range(max(1, repetitions))]))


def baseline_of(dataset_path: str, pin: bool = False) -> float:
    """`Probe.baseline` of the dataset at `dataset_path`, in a process of its own (see
    `baseline_in_child`), on the CPU one-thread searches are pinned to when `pin`."""
    from fanns_bench.data.dataset import load_dataset
    from fanns_bench.runner.affinity import pinned

    probe = Probe.of(load_dataset(Path(dataset_path)).vectors)
    with pinned(1, enabled=pin):
        return probe.baseline()


def baseline_in_child(dataset_path: Path, pin: bool = False) -> float:
    """The run's reference probe time, measured in a fresh spawned process as a job measures
    its own. Timed in the sweep process instead (which had just computed ground truth, holds
    the workload and runs the memory sampler), the reference moved 2x between two runs
    (20.7 ms, then 10.4 ms) while every job of both read about 15.5 ms, so every point of
    both runs came out flagged."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return float(pool.apply(baseline_of, (str(dataset_path), pin)))


def probe_ratio(baseline_s: float | None, job_seconds: list[float]) -> float | None:
    """Baseline probe time / the job's median probe time (< 1: the machine is slower now);
    None without a baseline or a job probe."""
    if not baseline_s or not job_seconds:
        return None
    median = float(np.median(job_seconds))
    return baseline_s / median if median > 0 else None
