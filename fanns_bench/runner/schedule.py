"""The order of a job's measurements: its points' timed repetitions interleaved in rounds.

Measured point after point, every repetition of a point sampled the same few seconds of the
machine, and the machine's speed drifts on a scale of seconds to minutes (issue 16: on a quiet
2-core VM two runs' point QPS differed by up to 1.5x while each point's repetitions agreed;
memory-bound searches slow down together with the host). So, with `runner.interleave`:

1. per point: warm-up and pass calibration, the first answers checked, the search memory
   peak (`PointMeasurement.calibrate`); a point that fails here fails at once;
2. R rounds: in round r every surviving point takes its r-th timed repetition (end to end,
   then given the filter), in an order seeded by the job's point keys that differs from the
   last round's; the probe (`probe.py`) is timed before each round; a point that fails in a
   round fails alone;
3. per point: the latency pass and the row, with the job's drift between rounds
   (`noise.round_factors`) and the probe ratio against the sweep's baseline.

Each point's median then spans the whole job's time instead of a few seconds of it, and the
rounds show how much the machine moved meanwhile. The rows of measured points are written at
the end of their job (a failed point's at once): a job that hangs or is killed fails its
unwritten points with the sweep's reason, and `job-<key>-step.txt` beside the job's error
file says which point and round it was in. `runner.interleave: false` measures each point on
its own, start to row, as before (each point its own group of one).

With `runner.processes` > 1 the job runs in several processes, each taking its share of the
rounds; every process but the last hands its points' repetitions over instead of writing rows,
and the last writes the rows from all of them (`handover.py`).
"""

from __future__ import annotations

import gc
import hashlib
import traceback
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from fanns_bench.atomic_files import write_text_atomic
from fanns_bench.groundtruth import GroundTruth
from fanns_bench.results.attempts import write_error
from fanns_bench.results.row_files import write_row
from fanns_bench.results.schema import STATUS_FAILED, STATUS_INVALID, STATUS_OK
from fanns_bench.runner.affinity import pinned
from fanns_bench.runner.answers import invalid_reason
from fanns_bench.runner.clocks import GroupClock
from fanns_bench.runner.handover import read_handovers, remove_handovers, share, write_handover
from fanns_bench.runner.measure import PointMeasurement
from fanns_bench.runner.noise import drift, drift_reasons, round_factors
from fanns_bench.runner.plan import Point
from fanns_bench.runner.probe import Probe, probe_ratio
from fanns_bench.runner.rows import base_row
from fanns_bench.runner.threads import query_threads

if TYPE_CHECKING:
    from fanns_bench.methods.base import Method
    from fanns_bench.runner.context import Context
    from fanns_bench.runner.job import WorkerSpec

Groups = dict[tuple[str, float], np.ndarray]  # (filter type, bucket) -> the workload's rows


@dataclass
class Live:
    """A point still being measured: its row so far and its measurement."""

    point: Point
    rows: np.ndarray  # its queries' rows in the workload
    row: dict[str, Any]
    measurement: PointMeasurement
    peak: int = 0  # the search memory peak of the group's processes (bytes, absolute)
    times: list[tuple[float, float]] = field(default_factory=list)  # per round: end to end, given


def round_orders(keys: list[str], rounds: int) -> list[list[int]]:
    """The order of the points (indices into `keys`) in each round: a permutation seeded by
    the keys, so a rerun repeats it; one equal to the last round's is reversed, so with two or
    more points no two rounds in a row run in the same order."""
    seed = int(hashlib.sha256("\n".join(keys).encode()).hexdigest()[:16], 16)
    rng = np.random.default_rng(seed)
    orders: list[list[int]] = []
    for _ in range(rounds):
        order = [int(i) for i in rng.permutation(len(keys))]
        if orders and order == orders[-1]:
            order.reverse()
        orders.append(order)
    return orders


class Steps:
    """`<error file stem>-step.txt`: where the job is, read by the sweep (`run._job_error`)
    when the job hangs or dies; removed when the job ends normally."""

    def __init__(self, error_file: Path) -> None:
        self.path = error_file.with_name(f"{error_file.stem}-step{error_file.suffix}")

    def now(self, text: str) -> None:
        write_text_atomic(self.path, f"last step started: {text}\n")

    def done(self) -> None:
        self.path.unlink(missing_ok=True)


@dataclass
class Job:
    """What every point of the job shares while it is measured."""

    spec: WorkerSpec
    context: Context
    method: Method
    build: dict[str, Any]  # the build's row columns
    groups: Groups
    probe: Probe | None
    steps: Steps
    clock: GroupClock = field(default_factory=GroupClock)  # CPU time of the job's process group


@contextmanager
def searching(job: Job, threads: int) -> Iterator[list[int]]:
    """A search phase on `threads` threads: pinned to its CPUs (`affinity.py`, unless
    `runner.pin_cpus` is off), the method's and the libraries' pools capped; yields the CPUs."""
    pin = job.spec.pin_cpus
    group = job.clock.group() if pin else ()  # a /proc walk per phase: only when pinning
    with pinned(threads, group, pin) as cpus, query_threads(job.method, threads):
        yield cpus


def measure_points(
    spec: WorkerSpec, context: Context, method: Method, build: dict[str, Any], probe: Probe | None = None
) -> None:
    """Measure `spec.points` on the built `method` and write their rows (module docstring);
    `probe` (built before the job's memory baseline, so its block is in it) is timed before
    each round."""
    if probe is not None:
        probe.seconds()  # untimed: page the block in
    groups = {(t, b): rows for t, b, rows in context.workload.groups()}
    job = Job(spec, context, method, build, groups, probe, Steps(spec.error_file))
    for points in [spec.points] if spec.interleave else [[p] for p in spec.points]:
        _measure_group(job, points)
    job.steps.done()


def _measure_group(job: Job, points: list[Point]) -> None:
    spec, steps = job.spec, job.steps
    live = [entry for p in points if (entry := _calibrated(job, p))]
    if not live:
        return
    probes: list[float] = []
    rounds = share(max(1, spec.repetitions), spec.processes, spec.process)
    for number, order in enumerate(round_orders([m.point.key for m in live], rounds)):
        gc.collect()  # no garbage from the last round inside this one's timings
        if job.probe is not None:
            with searching(job, 1), job.spec.meter.hushed():  # where one-thread searches run
                probes.append(job.probe.warm_seconds())
        for index in order:
            entry = live[index]
            if entry.row.get("status") == STATUS_FAILED:
                continue
            steps.now(f"round {number + 1} of {rounds}, point {entry.point.key}")
            try:
                _repeat(job, entry, first=number == 0)
            except Exception as error:
                _fail(job, entry.row, error, f"search failed in round {number + 1}")
    measured = [m for m in live if m.row.get("status") != STATUS_FAILED]
    if spec.process < spec.processes - 1:
        for entry in measured:  # the job's next process goes on (handover.py)
            handed = {"measurement": entry.measurement.handover(), "times": entry.times}
            write_handover(spec.results_dir, entry.point.key, spec.process, handed)
        return
    if spec.processes > 1:
        for entry in measured:
            earlier = read_handovers(spec.results_dir, entry.point.key, spec.process)
            entry.measurement.take_over([h["measurement"] for h in earlier])
            entry.times[:0] = [tuple(t) for h in earlier for t in h["times"]]
    machine = {
        "drift": drift(round_factors([m.times for m in measured])) if len(measured) >= 2 else None,
        "probe_ratio": probe_ratio(spec.probe_seconds, probes),
    }
    for entry in measured:
        steps.now(f"latency pass and row, point {entry.point.key}")
        _finish(job, entry, machine)
    remove_handovers(spec.results_dir, [m.point.key for m in measured])


def _calibrated(job: Job, point: Point) -> Live | None:
    """Phase 1 of a point; None (its failed row written) when it fails."""
    spec, context, method = job.spec, job.context, job.method
    rows = job.groups[(point.filter_type, point.bucket)]
    row = base_row(context, spec.job, point, spec.experiment)
    job.steps.now(f"calibration, point {point.key}")
    try:
        measurement = PointMeasurement(
            method,
            np.ascontiguousarray(context.query_vectors[rows]),
            [context.workload.predicates[r] for r in rows],
            context.attributes,
            point.k,
            method.search_params(point.search_params),
            count=len(context.dataset.vectors),
            threads=point.threads,
            clock=job.clock,
        )
        with searching(job, point.threads) as cpus:
            spec.meter.sync(reset=True)
            measurement.calibrate(spec.warmup, spec.min_repetition_s)
            peak = spec.meter.sync()[0]
        row["search_cpus"] = ",".join(map(str, cpus)) or None
    except Exception as error:
        _fail(job, row, error, "search failed")
        return None
    return Live(point, rows, row, measurement, peak)


def _repeat(job: Job, entry: Live, first: bool) -> None:
    """One timed repetition of each kind of `entry`'s point, on its own thread count, with no
    memory sample taken meanwhile (the first round samples the memory peak instead when
    calibration ran no search: no warm-up, no minimum)."""
    spec = job.spec
    sample = first and not (spec.warmup or spec.min_repetition_s > 0)
    with searching(job, entry.point.threads):
        if sample:
            spec.meter.sync(reset=True)
        with nullcontext() if sample else spec.meter.hushed():  # no sample slows the timed passes
            entry.times.append(entry.measurement.repeat(rewarm=spec.interleave))
        if sample:
            entry.peak = max(entry.peak, spec.meter.sync()[0])
    if spec.interleave:
        entry.measurement.release()


def _finish(job: Job, entry: Live, machine: dict[str, Any]) -> None:
    """Phase 3 of a point: latency pass, answers' quality, the row (`machine`: the drift and
    probe columns of its group)."""
    spec, context, method, build = job.spec, job.context, job.method, job.build
    point, rows = entry.point, entry.rows
    truth = GroundTruth(context.truth.ids[rows], context.truth.scores[rows])
    try:
        with searching(job, point.threads), spec.meter.hushed():  # the latency pass is timed
            measured = entry.measurement.columns(
                [context.match_ids[r] for r in rows],
                truth,
                context.dataset.vectors,
                context.dataset.metric,
                spec.latency_queries,
                extra_reasons=drift_reasons(machine["drift"]),
            )
    except Exception as error:
        _fail(job, entry.row, error, "search failed")
        return
    invalid = invalid_reason(method, point.search_params, measured)
    write_row(
        spec.results_dir,
        {
            **entry.row,
            **build,
            **measured,
            **machine,
            "status": STATUS_INVALID if invalid else STATUS_OK,
            "reason": invalid,
            "search_peak_rss_bytes": max(0, entry.peak - build["baseline_rss_bytes"]),
        },
    )


def _fail(job: Job, row: dict[str, Any], error: Exception, what: str) -> None:
    """Write the point's failed row and its traceback; mark `row` failed."""
    results = job.spec.results_dir
    write_error(results, row["key"], f"{what}: {traceback.format_exc()}")
    row["status"] = STATUS_FAILED
    write_row(results, {**row, **job.build, "reason": f"{what}: {type(error).__name__}: {error}"})
