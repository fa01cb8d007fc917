"""Measure one point: timed batch repetitions end to end and given the filter input, a
single-query latency pass, recall, and the returned ids.

Every pass does the same work from the same inputs for every method:
- an end-to-end pass times `FilterBatch.of` + `prepare_filters` + `search` (a fresh batch
  each pass, so nothing carries over);
- a given-filter pass times `search` alone, on filter input prepared beforehand.

A timed repetition repeats its pass until it has run at least `min_repetition_s` (timeit's
autorange idea): the number of passes is calibrated once per point from the untimed warm-up
passes of each kind, then fixed, so every repetition of the point does identical work. The
two kinds alternate (end to end, given filter, end to end, ...), so both see the same
machine: measured one block after the other, the second block ran later in the worker's
scheduling slice and, under load, lost more of it to other processes (issue 16: `exact`'s
`qps_given_filter`, strictly less work, came out below its `qps`).

Why not pyperf or pytest-benchmark: pyperf's `Runner` owns the command line and spawns its
own worker processes (re-running the script per process), and pytest-benchmark is a pytest
fixture; our job is already an isolated child process that holds a built index and cannot
rebuild it per benchmark process. Their ideas are taken instead: calibrated loop counts with
a minimum time per value (pyperf 100 ms, timeit's autorange 0.2 s, google-benchmark's
min_time), all values kept, and pyperf's stability checks (`noise.py`).

Each repetition is recorded as the seconds of ONE pass (repetition time / passes), so QPS
stays n_queries / median pass time; beside the wall clock, the CPU time of the job's process
group (`clocks.py`), the load average and the involuntary context switches are read around
every timed repetition, and `noise.py` says whether the point is noisy.
"""

from __future__ import annotations

import gc
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fanns_bench.errors import MethodError
from fanns_bench.filters.attribute_index import AttributeIndex, in_sorted
from fanns_bench.filters.predicates import Predicate
from fanns_bench.groundtruth import GroundTruth
from fanns_bench.methods.base import FilterBatch, Method
from fanns_bench.metrics import recall_paper, recall_per_query, recall_tie_aware
from fanns_bench.runner.answers import answer_checks, stats_json
from fanns_bench.runner.clocks import GroupClock, Reading
from fanns_bench.runner.noise import NoiseInputs, dispersion, noisy_reasons, process_rates, process_reasons

WARMUP_PASSES = 3  # untimed passes at most, where each is shorter than the minimum repetition
MAX_PASSES = 1_000_000  # a pass that reads 0 s on the clock still repeats a bounded number of times
#: interleaved rounds: a repetition whose pass is shorter than this starts with one untimed pass
#: of its own point (`PointMeasurement.repeat`); a longer pass re-warms within itself
REWARM_MAX_PASS_S = 0.05


def checked_ids(method: Method, ids: Any, queries: int, k: int, count: int | None = None) -> np.ndarray:
    """The method's output as int64 (queries, k), or `MethodError` saying what was wrong:
    not integers, another shape, or (given the dataset's `count`) an id outside
    [0, count) that is not the -1 padding. The runner and the conformance suite both check
    every answer with it."""
    ids = np.asarray(ids)
    if ids.shape != (queries, k) or not np.issubdtype(ids.dtype, np.integer):
        raise MethodError(
            f"{method.name}.search returned {ids.dtype} of shape {ids.shape}; "
            f"expected integer ids of shape ({queries}, {k})"
        )
    ids = ids.astype(np.int64, copy=False)
    if count is not None and ids.size:
        outside = (ids < -1) | (ids >= count)
        if outside.any():
            row, column = np.argwhere(outside)[0]
            raise MethodError(
                f"{method.name}.search returned id {int(ids[row, column])} (query {int(row)}, rank "
                f"{int(column) + 1}); expected ids in [0, {count}) or -1 for padding"
            )
    return ids


def end_to_end(
    method: Method,
    queries: np.ndarray,
    predicates: Sequence[Predicate | None],
    attributes: AttributeIndex,
    k: int,
    params: dict[str, Any],
    count: int | None = None,
) -> tuple[np.ndarray, float, float]:
    """(ids, total seconds, filter-preparation seconds) of one batch from predicates to ids
    (`count`: the dataset's size, for `checked_ids`)."""
    start = time.perf_counter()
    prepared = method.prepare_filters(FilterBatch.of(predicates, attributes))
    ready = time.perf_counter()
    ids = method.search(queries, prepared, k, **params)
    seconds = time.perf_counter() - start
    return checked_ids(method, ids, len(queries), k, count), seconds, ready - start


def passes_for(min_repetition_s: float, pass_seconds: float) -> int:
    """Passes a repetition needs to run at least `min_repetition_s`, from one pass's time."""
    if min_repetition_s <= 0:
        return 1
    if pass_seconds <= 0:
        return MAX_PASSES
    return max(1, min(MAX_PASSES, math.ceil(min_repetition_s / pass_seconds)))


def warm_up(run_pass: Callable[[], None], min_repetition_s: float) -> float:
    """Run untimed passes (one, or up to `WARMUP_PASSES` while they stay under the minimum
    repetition time); the fastest pass's seconds, to calibrate with. The first pass of a
    point runs on cold caches: calibrated from it alone, fast batches got about half the
    passes they needed."""
    times: list[float] = []
    while not times or (len(times) < WARMUP_PASSES and sum(times) < min_repetition_s):
        start = time.perf_counter()
        run_pass()
        times.append(time.perf_counter() - start)
    return min(times)


def filter_violations(ids: np.ndarray, match_ids: list[np.ndarray]) -> int:
    """How many returned ids (not -1) do not satisfy their query's filter."""
    bad = 0
    for row, allowed in zip(ids, match_ids, strict=True):
        returned = row[row >= 0]
        bad += int(len(returned) - in_sorted(returned, allowed).sum())
    return bad


@dataclass
class Timed:
    """The timed repetitions of one kind of pass: seconds per pass, CPU seconds per pass, and
    the passes of each repetition (`passes` is this process's calibrated count; repetitions
    carried over from an earlier process of the job, `runner.processes`, keep their own)."""

    passes: int
    seconds: list[float] = field(default_factory=list)
    cpu_seconds: list[float] = field(default_factory=list)
    readings: list[Reading] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)  # passes of each repetition

    def repeat(self, clock: GroupClock, run_pass: Callable[[], None]) -> None:
        """One timed repetition: `passes` passes between two readings of both clocks."""
        before = clock.read()
        start = time.perf_counter()
        for _ in range(self.passes):
            run_pass()
        wall = time.perf_counter() - start
        spent = clock.read() - before
        self.seconds.append(wall / self.passes)
        self.cpu_seconds.append(spent.cpu_seconds / self.passes)
        self.readings.append(spent)
        self.counts.append(self.passes)

    @property
    def wall_seconds(self) -> float:
        """Wall time of every timed repetition, all passes."""
        return sum(s * c for s, c in zip(self.seconds, self.counts, strict=True))

    @property
    def shortest_repetition(self) -> float:
        """Wall time of the shortest timed repetition."""
        return min(s * c for s, c in zip(self.seconds, self.counts, strict=True))

    def as_dict(self) -> dict[str, Any]:
        """Plain data, for the next process of the job (`carry.py`)."""
        readings = [[r.cpu_seconds, r.involuntary_switches, r.load_avg] for r in self.readings]
        return {"seconds": self.seconds, "cpu_seconds": self.cpu_seconds, "counts": self.counts,
                "readings": readings}  # fmt: skip

    def take(self, earlier: dict[str, Any]) -> None:
        """Put an earlier process's repetitions (`as_dict`) before this process's own."""
        self.seconds[:0] = earlier["seconds"]
        self.cpu_seconds[:0] = earlier["cpu_seconds"]
        self.counts[:0] = earlier["counts"]
        self.readings[:0] = [Reading(float(c), int(s), float(load)) for c, s, load in earlier["readings"]]


class PointMeasurement:
    """The measurement of one point, in parts the job can interleave with other points':
    `calibrate` (untimed passes, pass counts, the first answers checked), `repeat` (one
    timed repetition of each kind), `columns` (latency pass, recall, the row's columns).
    `measure` runs them in a row for one point."""

    def __init__(
        self,
        method: Method,
        queries: np.ndarray,
        predicates: Sequence[Predicate | None],
        attributes: AttributeIndex,
        k: int,
        params: dict[str, Any],
        *,
        count: int,
        threads: int = 1,
        clock: GroupClock | None = None,
    ) -> None:
        self.method, self.queries, self.predicates, self.attributes = method, queries, predicates, attributes
        self.k, self.params, self.count, self.threads = k, params, count, threads
        self.clock = clock or GroupClock()
        self.batches, self.searches = Timed(1), Timed(1)
        self.filter_total = 0.0
        self.output: Any = None
        self.ids: np.ndarray | None = None
        self.stats: dict[str, float] = {}
        self.prepared: Any = None
        self.pass_seconds: float | None = None  # the fastest untimed end-to-end pass (`calibrate`)
        self.process_sizes: list[int] = []  # repetitions per process of the job (`take_over`)

    def _end_to_end(self) -> None:
        start = time.perf_counter()
        ready_input = self.method.prepare_filters(FilterBatch.of(self.predicates, self.attributes))
        self.filter_total += time.perf_counter() - start
        self.output = self.method.search(self.queries, ready_input, self.k, **self.params)

    def _given(self) -> None:
        self.output = self.method.search(self.queries, self.prepared, self.k, **self.params)

    def _checked(self) -> np.ndarray:
        return checked_ids(self.method, self.output, len(self.queries), self.k, self.count)

    def calibrate(self, warmup: bool, min_repetition_s: float) -> None:
        """Prepare the given-filter input; with `warmup` or a positive `min_repetition_s`, run
        untimed passes of each kind (`warm_up`: warm caches), check their answers (a bad
        answer fails the point here) and fix the pass counts from them."""
        gc.collect()  # no garbage left from the last point (cheap once the job froze its data)
        self._prepare()
        if warmup or min_repetition_s > 0:
            self.pass_seconds = warm_up(self._end_to_end, min_repetition_s)
            self.batches.passes = passes_for(min_repetition_s, self.pass_seconds)
            self.ids = self._checked()
            self.searches.passes = passes_for(min_repetition_s, warm_up(self._given, min_repetition_s))
            self._checked()
        self.filter_total = 0.0

    def _prepare(self) -> None:
        if self.prepared is None:
            self.prepared = self.method.prepare_filters(FilterBatch.of(self.predicates, self.attributes))

    def release(self) -> None:
        """Drop the given-filter input and the last answer (prepared again, untimed, by the
        next `repeat`): a job holding every point's filter input between rounds would hold
        gigabytes on a large dataset."""
        self.prepared = self.output = None

    def repeat(self, rewarm: bool = False) -> tuple[float, float]:
        """One timed repetition end to end, then one given the filter, answers checked, the
        method's counters read after its last search; (seconds per pass of each).

        `rewarm` (interleaved rounds: another point's repetition ran just before, perhaps on
        another index of the job): when calibrated passes are shorter than `REWARM_MAX_PASS_S`,
        one untimed end-to-end pass first, so the timed passes start from this point's own warm
        caches whatever else shares the job. Without it a router's `exact` member timed 0.85x
        of `exact` alone on the same queries: its job's previous point had read another of
        its 10 indexes, `exact`'s own job's the same vectors (a 5-pass repetition after 256 MB
        of other reads: 1.38x the CPU per pass)."""
        self._prepare()
        if rewarm and self.pass_seconds is not None and self.pass_seconds < REWARM_MAX_PASS_S:
            spent = self.filter_total
            self._end_to_end()
            self.filter_total = spent  # its filter work is untimed, as the warm-up's
        self.batches.repeat(self.clock, self._end_to_end)
        found = self._checked()
        self.ids = found if self.ids is None else self.ids
        self.searches.repeat(self.clock, self._given)
        self._checked()
        self.stats = self.method.stats()  # counters of the last search: the point's whole batch
        return self.batches.seconds[-1], self.searches.seconds[-1]

    def handover(self) -> dict[str, Any]:
        """This process's timed repetitions, as plain data for the job's next process."""
        return {
            "batches": self.batches.as_dict(),
            "searches": self.searches.as_dict(),
            "filter_total": self.filter_total,
        }

    def take_over(self, earlier: Sequence[dict[str, Any]]) -> None:
        """Put the repetitions of the job's earlier processes (`handover`, in process order)
        before this process's own: the row's figures then span every process."""
        own = len(self.batches.seconds)
        for handed in reversed(earlier):
            self.batches.take(handed["batches"])
            self.searches.take(handed["searches"])
            self.filter_total += handed["filter_total"]
        self.process_sizes = [len(h["batches"]["seconds"]) for h in earlier] + [own]

    def _single(self, i: int) -> float:
        """Seconds of query `i` alone, end to end (the latency pass)."""
        one, method = slice(i, i + 1), self.method
        return end_to_end(
            method, self.queries[one], self.predicates[one], self.attributes, self.k, self.params, self.count
        )[1]

    def columns(
        self,
        match_ids: list[np.ndarray],
        truth: GroundTruth,
        vectors: np.ndarray,
        metric: str,
        latency_queries: int,
        extra_reasons: Sequence[str] = (),
    ) -> dict[str, Any]:
        """The measured columns of the row, after the latency pass (`match_ids`: per query,
        for the metrics only; `extra_reasons`: noisy reasons of the whole job)."""
        n, k, ids, queries = len(self.queries), self.k, self.ids, self.queries
        latencies = [self._single(i) for i in range(min(latency_queries, n))]
        latency_ms = np.asarray(latencies) * 1e3 if latencies else np.array([np.nan])
        batches, searches = self.batches, self.searches
        given = dispersion(n, searches.seconds)
        per_process = process_rates(n, batches.seconds, self.process_sizes or [len(batches.seconds)])
        extra_reasons = [*process_reasons(per_process), *extra_reasons]
        violations = filter_violations(ids, match_ids)
        return {
            "recall": recall_paper(ids, truth, k),
            "recall_tie_aware": recall_tie_aware(ids, truth, k, queries, vectors, match_ids, metric),
            "recall_per_query": recall_per_query(ids, truth, k).astype(np.float32).tolist(),
            "filter_violations": violations,
            **answer_checks(ids, match_ids, k, violations),
            **dispersion(n, batches.seconds),
            "qps_given_filter": given["qps"],
            "qps_given_filter_std": given["qps_std"],
            "batch_seconds": [float(s) for s in batches.seconds],
            "search_seconds": [float(s) for s in searches.seconds],
            "filter_seconds": self.filter_total / sum(batches.counts),
            "seconds_per_query": float(np.median(batches.seconds)) / n,
            "processes": len(per_process),
            "qps_processes": per_process,
            **_clock_columns(n, batches, searches, self.threads, extra_reasons),
            "latency_p50_ms": float(np.percentile(latency_ms, 50)),
            "latency_p95_ms": float(np.percentile(latency_ms, 95)),
            "latency_p99_ms": float(np.percentile(latency_ms, 99)),
            "distance_computations": self.stats.get("distance_computations"),
            "method_stats": stats_json(self.stats),
            "ids": ids.reshape(-1).tolist(),
        }


def measure(
    method: Method,
    queries: np.ndarray,
    predicates: Sequence[Predicate | None],
    attributes: AttributeIndex,
    match_ids: list[np.ndarray],
    truth: GroundTruth,
    vectors: np.ndarray,
    metric: str,
    k: int,
    params: dict[str, Any],
    *,
    repetitions: int,
    warmup: bool,
    latency_queries: int,
    min_repetition_s: float = 0.0,
    threads: int = 1,
    clock: GroupClock | None = None,
) -> dict[str, Any]:
    """The measured columns of one point measured on its own: calibration, every
    repetition, then the latency pass (`PointMeasurement`)."""
    point = PointMeasurement(
        method, queries, predicates, attributes, k, params, count=len(vectors), threads=threads, clock=clock
    )
    point.calibrate(warmup, min_repetition_s)
    for _ in range(max(1, repetitions)):
        point.repeat()
    return point.columns(match_ids, truth, vectors, metric, latency_queries)


def _clock_columns(
    n: int, batches: Timed, searches: Timed, threads: int, extra_reasons: Sequence[str] = ()
) -> dict[str, Any]:
    """Passes, the CPU clock, load, switches and the noisy flag of a point's repetitions."""
    readings = batches.readings + searches.readings
    wall = batches.wall_seconds
    cpu = sum(c * n for c, n in zip(batches.cpu_seconds, batches.counts, strict=True))
    cpu_wall_ratio = cpu / wall if wall > 0 else None
    load_avg = max(r.load_avg for r in readings)
    reasons = noisy_reasons(
        NoiseInputs(
            rates=[n / s for s in batches.seconds],
            given_rates=[n / s for s in searches.seconds],
            repetition_seconds=min(batches.shortest_repetition, searches.shortest_repetition),
            cpu_wall_ratio=cpu_wall_ratio,
            threads=threads,
            load_avg=load_avg,
            cores=os.cpu_count() or 1,
        )
    ) + list(extra_reasons)
    median_cpu = float(np.median(batches.cpu_seconds))
    return {
        "repetition_passes": batches.passes,
        "cpu_seconds": [float(c) for c in batches.cpu_seconds],
        "qps_cpu": float(n / median_cpu) if threads == 1 and median_cpu > 0 else None,
        "cpu_wall_ratio": cpu_wall_ratio,
        "load_avg": float(load_avg),
        "involuntary_switches": int(sum(r.involuntary_switches for r in readings)),
        "noisy": bool(reasons),
        "noisy_reason": "; ".join(reasons) or None,
    }
