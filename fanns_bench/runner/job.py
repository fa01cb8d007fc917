"""The child process of one build job: build the index once, measure every pending point.

Each finished point is written at once (atomically), so a crash or kill later in the
job loses nothing already measured. Errors inside one point fail that point only.
"""

from __future__ import annotations

import os
import signal
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fanns_bench.groundtruth import GroundTruth
from fanns_bench.methods.registry import get_method
from fanns_bench.results.row_files import write_row
from fanns_bench.results.schema import STATUS_OK
from fanns_bench.runner.context import load_context
from fanns_bench.runner.environment import peak_rss_bytes, reset_peak_rss
from fanns_bench.runner.measure import measure
from fanns_bench.runner.plan import BuildJob, Point
from fanns_bench.runner.rows import base_row, write_status_rows


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


def job_main(spec: WorkerSpec) -> None:
    """Entry point of the child process; exits non-zero with the error in `error_file`."""
    _die_with_parent()
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


def run_job(spec: WorkerSpec) -> None:
    context = load_context(spec.dataset_path, spec.workload_dir, spec.workload_name, spec.workload_digest)
    job = spec.job
    method = get_method(job.method_name)(
        metric=context.dataset.metric, threads=spec.build_threads, **job.build_params
    )
    try:
        attributes = context.attributes  # built once per job, timed on its own, outside the build
        reset_peak_rss()
        start = time.perf_counter()
        try:
            method.build(context.dataset)
        except Exception as error:
            write_status_rows(
                spec.results_dir,
                context,
                job,
                spec.points,
                spec.experiment,
                reason=f"build failed: {type(error).__name__}: {error}",
            )
            return
        build = {
            "build_seconds": time.perf_counter() - start,
            "build_peak_rss_bytes": peak_rss_bytes(),
            "index_bytes": int(method.memory_bytes()),
            "build_threads": spec.build_threads,
            "attribute_index_seconds": attributes.build_seconds,
            "attribute_index_bytes": attributes.nbytes(),
        }
        reset_peak_rss()
        _measure_points(spec, context, method, build)
    finally:
        method.close()


def _measure_points(spec: WorkerSpec, context, method, build: dict) -> None:
    groups = {(t, b): rows for t, b, rows in context.workload.groups()}
    queries_all = context.query_vectors
    matches = context.match_ids
    for point in spec.points:
        rows = groups[(point.filter_type, point.bucket)]
        truth = GroundTruth(context.truth.ids[rows], context.truth.scores[rows])
        method.threads = point.threads
        row = base_row(context, spec.job, point, spec.experiment)
        try:
            measured = measure(
                method,
                np.ascontiguousarray(queries_all[rows]),
                [context.workload.predicates[r] for r in rows],
                context.attributes,
                [matches[r] for r in rows],
                truth,
                context.dataset.vectors,
                context.dataset.metric,
                point.k,
                method.search_params(point.search_params),
                repetitions=spec.repetitions,
                warmup=spec.warmup,
                latency_queries=spec.latency_queries,
            )
        except Exception as error:
            write_row(
                spec.results_dir,
                {
                    **row,
                    "status": "failed",
                    **build,
                    "reason": f"search failed: {type(error).__name__}: {error}",
                },
            )
            continue
        write_row(
            spec.results_dir,
            {
                **row,
                **build,
                **measured,
                "status": STATUS_OK,
                "search_peak_rss_bytes": peak_rss_bytes(),
            },
        )


def configure_threads(threads: int) -> None:
    """Thread caps for BLAS/OpenMP libraries, set before they load in the child."""
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = str(threads)
