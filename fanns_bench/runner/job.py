"""The child process of one build job: build the index once, measure every pending point.

Rows are written atomically: a failed point's at once, the measured points' when the job's
interleaved rounds end (`schedule.py`; at once per point with `runner.interleave: false`), so
a crash or kill loses nothing already written. Errors inside one point fail that point only.
"""

from __future__ import annotations

import gc
import os
import signal
import time
import traceback
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fanns_bench.runner.context import load_context
from fanns_bench.runner.memory import PhaseMeter, in_process_meter
from fanns_bench.runner.plan import BuildJob, Point
from fanns_bench.runner.probe import Probe
from fanns_bench.runner.rows import write_status_rows
from fanns_bench.runner.schedule import measure_points
from fanns_bench.runner.threads import capped_threads


@dataclass
class WorkerSpec:
    """What a worker needs, as plain picklable data."""

    job: BuildJob
    points: list[Point]
    dataset_path: Path
    workload_dir: Path
    workload_name: str
    workload_digest: str
    results_dir: Path
    experiment: str
    build_threads: int
    repetitions: int
    warmup: bool
    latency_queries: int
    error_file: Path
    deterministic_builds: bool = False  # build `one_thread` methods on one thread
    meter: PhaseMeter | None = None  # the sweep's memory sampler of this job's processes
    min_repetition_s: float = 0.0  # each timed repetition repeats the batch at least this long
    interleave: bool = True  # repetitions in rounds across the job's points (runner/schedule.py)
    pin_cpus: bool = False  # search phases pinned to their threads' CPUs (runner/affinity.py)
    probe_seconds: float | None = None  # the sweep's baseline probe time (runner/probe.py); None: no probe
    processes: int = 1  # fresh processes of this job, each taking a share of the repetitions (handover.py)
    process: int = 0  # which of them this one is (0-based)


def job_main(spec: WorkerSpec) -> None:
    """Entry point of the child process; exits non-zero with the error in `error_file`."""
    _die_with_parent()
    lead_own_session()
    try:
        run_job(spec)
    except BaseException as error:  # recorded for the parent, then re-raised to exit non-zero
        spec.error_file.parent.mkdir(parents=True, exist_ok=True)
        spec.error_file.write_text(f"{type(error).__name__}: {error}\n{traceback.format_exc()}")
        raise


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL this worker when the sweep process dies (e.g. is SIGKILLed)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def lead_own_session() -> None:
    """Make this worker a session and process-group leader: what it starts (a method's
    worker, a database server) stays in its group, and the sweep can take it all down."""
    try:
        os.setsid()
    except OSError:  # already a leader
        pass


def run_job(spec: WorkerSpec) -> None:
    with ExitStack() as stack:
        if spec.meter is None:  # run in-process (no sweep sampling this job)
            spec.meter = stack.enter_context(in_process_meter())
        _run_job(spec)


def _run_job(spec: WorkerSpec) -> None:
    context = load_context(spec.dataset_path, spec.workload_dir, spec.workload_name, spec.workload_digest)
    job = spec.job
    method_cls = job.method.load()
    build_threads = _build_thread_count(method_cls, spec)
    probe = Probe.of(context.dataset.vectors) if spec.probe_seconds else None  # in the baseline
    baseline = _loaded_baseline(context, spec.meter)
    method = method_cls(metric=context.dataset.metric, threads=build_threads, **job.build_params)
    try:
        method.set_build_threads(lambda cls: _build_thread_count(cls, spec))  # the router's members
        try:
            method.prepare_environment(context.dataset)  # one-time set-up, before the build timer
            with capped_threads(build_threads):
                spec.meter.sync(reset=True)
                start = time.perf_counter()
                method.build(context.dataset)
                build_seconds = time.perf_counter() - start
                build_peak = spec.meter.sync()[0]
        except Exception as error:
            write_status_rows(
                spec.results_dir,
                context,
                job,
                spec.points,
                spec.experiment,
                reason=f"build failed: {type(error).__name__}: {error}",
                error=f"build failed: {traceback.format_exc()}",
            )
            return
        build = {
            "build_seconds": build_seconds,
            "build_peak_rss_bytes": max(0, build_peak - baseline),
            "baseline_rss_bytes": baseline,
            "index_bytes": int(method.memory_bytes()),
            "build_threads": int(method.build_threads_used()),
            "deterministic": bool(method.deterministic()),
            "attribute_index_seconds": context.attributes.build_seconds,
            "attribute_index_bytes": context.attributes.nbytes(),
        }
        _measure_points(spec, context, method, build, probe)
    finally:
        method.close()


def _build_thread_count(method_cls: type, spec: WorkerSpec) -> int:
    """The runner's build threads; for an engine whose pool is fixed per process, the
    query thread count of this worker's points (the sweep gives it one count per worker);
    with `deterministic_builds`, 1 for a method deterministic only on one thread."""
    counts = {p.threads for p in spec.points}
    if getattr(method_cls, "fixed_thread_pool", False) and len(counts) == 1:
        return counts.pop()
    if spec.deterministic_builds and getattr(method_cls, "deterministic_build", "") == "one_thread":
        return 1
    return spec.build_threads


def _loaded_baseline(context, meter: PhaseMeter) -> int:
    """Memory of the job's processes once the dataset, workload, ground truth, attribute
    index and match ids are loaded and the vectors paged in: what every method's figures
    are above."""
    vectors = context.dataset.vectors
    if vectors.size:
        flat = np.asarray(vectors).reshape(-1)
        float(flat[:: max(1, 4096 // flat.itemsize)].sum())  # touch every page once
    context.attributes  # noqa: B018 (the attribute index, built once per job)
    context.match_ids  # noqa: B018 (computed once, held for the whole job)
    return meter.sync(reset=True)[1]


def _measure_points(spec: WorkerSpec, context, method, build: dict, probe: Probe | None) -> None:
    gc.collect()
    gc.freeze()  # the loaded data and the index are never garbage: collections skip them (~40 ms each)
    try:
        measure_points(spec, context, method, build, probe)
    finally:
        gc.unfreeze()  # a job run in-process hands its process back as it was
