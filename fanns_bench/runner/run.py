"""Run a sweep: dataset -> workload -> ground truth -> every build job -> Parquet rows."""

from __future__ import annotations

import logging
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm.contrib.logging import logging_redirect_tqdm

from fanns_bench.data.builders import dataset_of
from fanns_bench.data.dataset_facts import dataset_facts
from fanns_bench.errors import ConfigError
from fanns_bench.results.attempts import attempt_files, failed_attempts
from fanns_bench.results.bucket_files import write_buckets
from fanns_bench.results.lock import results_lock
from fanns_bench.results.recompute import keep_ground_truth
from fanns_bench.results.row_files import (
    finished_keys,
    load_results,
    read_status,
    row_path,
    write_combined,
)
from fanns_bench.results.schema import SCHEMA, STATUS_FAILED, STATUS_INVALID, STATUS_UNSUPPORTED
from fanns_bench.runner.context import Context, prepare_context
from fanns_bench.runner.handover import FOLDER as HANDOVER_FOLDER
from fanns_bench.runner.handover import has_handover, remove_handovers
from fanns_bench.runner.isolation import run_isolated
from fanns_bench.runner.job import WorkerSpec
from fanns_bench.runner.plan import BuildJob, Point, build_jobs
from fanns_bench.runner.probe import baseline_in_child
from fanns_bench.runner.progress import JobProgress, SweepProgress
from fanns_bench.runner.rows import write_status_rows
from fanns_bench.runner.settings import RunSettings
from fanns_bench.workloads.workload import WorkloadSpec, bucket_table

log = logging.getLogger(__name__)
NOT_INSTALLED = "not installed"
FAILED_STATUSES = (STATUS_FAILED, STATUS_INVALID)  # what makes `fanns-bench run` exit 3

__all__ = ["RunSettings", "SweepOutcome", "run_sweep"]


@dataclass
class SweepOutcome:
    """What a sweep produced: its rows, where they are, and what could not run.

    `attempts`: failed attempts of this run whose measured row was kept (see
    `results/attempts.py`)."""

    results_dir: Path
    rows: pd.DataFrame
    shortfalls: list[str]
    executed_jobs: int
    buckets: pd.DataFrame = field(default_factory=pd.DataFrame)  # `bucket_table` of the workload
    attempts: pd.DataFrame = field(default_factory=pd.DataFrame)
    dataset: dict[str, Any] = field(default_factory=dict)  # `dataset_facts` of its manifest
    waiting: str = ""  # points handed over to a later run (`runner.stop_after_process`), said in words

    @classmethod
    def of_points(
        cls,
        results_dir: Path,
        rows: pd.DataFrame,
        keys: set[str],
        since: float,
        shortfalls: list[str],
        executed_jobs: int,
        **details: Any,
    ) -> SweepOutcome:
        """The outcome of the points `keys` (the folder's `rows` filtered to them, and their
        failed attempts since `since`); `details`: `buckets`, `dataset`."""
        attempts = failed_attempts(results_dir, since=since)
        return cls(
            results_dir,
            rows[rows.key.isin(keys)].reset_index(drop=True),
            shortfalls,
            executed_jobs,
            attempts=attempts[attempts.key.isin(keys)] if len(attempts) else attempts,
            **details,
        )

    @property
    def failures(self) -> int:
        """Points of this sweep that failed or are invalid, plus failed attempts of this run."""
        failed = int(self.rows.status.isin(FAILED_STATUSES).sum()) if len(self.rows) else 0
        return failed + len(self.attempts)


def run_sweep(config: dict[str, Any]) -> SweepOutcome:
    """Run the sweep a composed config describes (see configs/config.yaml), holding the
    results folder's lock (`results/lock.py`)."""
    paths = config["paths"]
    settings = RunSettings.from_config(
        dict(config.get("runner") or {}),
        paths["results"],
        paths["datasets"],
        config.get("experiment", "default"),
    )
    with results_lock(settings.results_dir, settings.wait):
        return _run_sweep(config, settings)


def _run_sweep(config: dict[str, Any], settings: RunSettings) -> SweepOutcome:
    dataset_config = config["dataset"]
    started = time.time()
    dataset = dataset_of(dataset_config, settings.datasets_dir)
    spec = WorkloadSpec.from_config(dict(config["workload"]))
    if max(settings.k) > min(spec.ground_truth_depth, dataset.count):
        raise ConfigError(
            f"runner.k={max(settings.k)} exceeds the ground truth depth ({spec.ground_truth_depth}) "
            f"or the dataset size ({dataset.count}); raise workload.ground_truth_depth or lower k"
        )
    context = prepare_context(dataset, spec)
    keep_ground_truth(settings.results_dir, context.workload_dir, context.digest, dataset)
    for note in context.workload.shortfalls:
        log.warning("bucket shortfall: %s", note)
    buckets = bucket_table(context.workload, spec)
    write_buckets(settings.results_dir, dataset.name, spec.name, context.digest, buckets)
    groups = [(t, b) for t, b, _ in context.workload.groups()]
    jobs = build_jobs(
        dict(config.get("method") or {}),
        groups,
        settings.k,
        settings.search_threads,
        dataset.content_hash,
        context.digest,
        measurement=settings.measurement,
        builds=settings.builds,
    )
    executed = 0
    done = set() if settings.force else finished_keys(settings.results_dir)  # jobs' keys are disjoint
    pending = {id(job): _pending(settings, job, done) for job in jobs}
    pending_points = [p for points in pending.values() for p in points]
    retried = sum(p.key in done for p in pending_points)
    if retried:
        log.info("retrying %d failed points (runner.retry_failed=false: keep them)", retried)
    if settings.force:  # an interrupted earlier sweep's handovers are not this sweep's
        remove_handovers(settings.results_dir, [p.key for p in pending_points])
    progress = SweepProgress(len(pending_points) * settings.processes_now)
    baseline = _probe_baseline(context, settings.pin_cpus) if any(pending.values()) else None
    with ExitStack() as stack:
        if progress.bars:
            stack.enter_context(logging_redirect_tqdm())
        stack.callback(progress.close)
        for process in range(settings.processes_now):  # every job's first process, then its second ...
            for number, job in enumerate(jobs, 1):
                points = _for_process(settings, pending[id(job)], process)
                if not pending[id(job)]:
                    if process == 0:
                        count = len(job.points)
                        log.info("[%d/%d] %s: all %d points have a row", number, len(jobs), job.label, count)
                    continue
                prefix = f"[{number}/{len(jobs)}]" + (
                    f" process {process + 1}/{settings.processes}" if settings.processes > 1 else ""
                )
                if skipped := len(pending[id(job)]) - len(points):
                    progress.finished(skipped)  # failed in an earlier process, or handed over before
                if not points:
                    continue
                executed += _run_job(settings, context, job, points, prefix, progress, baseline, process)
    keys = {p.key for job in jobs for p in job.points}
    if finished_keys(settings.results_dir):
        rows = load_results(settings.results_dir)
        write_combined(settings.results_dir, rows)
    else:  # every point waits for a later process (`runner.stop_after_process`)
        rows = SCHEMA.empty_table().to_pandas()
    waiting = _waiting(settings, pending_points)
    return SweepOutcome.of_points(
        settings.results_dir,
        rows,
        keys,
        started,
        context.workload.shortfalls,
        executed,
        buckets=buckets,
        dataset=dataset_facts(dataset.manifest),
        waiting=waiting,
    )


def _waiting(settings: RunSettings, pending: list[Point]) -> str:
    """What a run stopped by `runner.stop_after_process` left to a later one ('' if nothing)."""
    if settings.processes_now == settings.processes:
        return ""
    last = settings.processes_now - 1
    waiting = sum(has_handover(settings.results_dir, p.key, last) for p in pending)
    return (
        f"stopped after process {settings.processes_now} of {settings.processes} "
        f"(runner.stop_after_process): {waiting} point{'' if waiting == 1 else 's'} wait in "
        f"{settings.results_dir / HANDOVER_FOLDER}/ for the rest; the same run with a later process "
        "(or without it) goes on from there"
    )


def _probe_baseline(context: Context, pin: bool) -> float:
    """The machine-speed probe's time at the start of the run (`probe.py`), logged."""
    seconds = baseline_in_child(context.dataset.path, pin)
    log.info("machine probe at the start of the run: %.2f ms (each job compares its own)", seconds * 1e3)
    return seconds


def _for_process(settings: RunSettings, pending: list[Point], process: int) -> list[Point]:
    """The points process `process` of a job measures (`handover.py`): those the previous
    process handed over (all, for the first), less those this one already handed over in an
    interrupted sweep; a point that failed in an earlier process has its row and stops."""
    results, last = settings.results_dir, process == settings.processes - 1
    return [
        p
        for p in pending
        if (process == 0 or has_handover(results, p.key, process - 1))
        and (last or not has_handover(results, p.key, process))
    ]


def _pending(settings: RunSettings, job: BuildJob, done: set[str]) -> list[Point]:
    """Points of `job` still to measure: missing (not in `done`), or redone by --force / retry rules."""
    if settings.force:
        return list(job.points)
    finished = [p for p in job.points if p.key in done]
    redo: set[str] = set()
    if finished:
        for key, (status, reason) in read_status(settings.results_dir, [p.key for p in finished]).items():
            retry = settings.retry_failed or (reason or "").startswith(NOT_INSTALLED)
            if status == STATUS_FAILED and retry:
                redo.add(key)
    return [p for p in job.points if p.key not in done or p.key in redo]


def _run_job(
    settings: RunSettings,
    context: Context,
    job: BuildJob,
    pending: list[Point],
    prefix: str,
    progress: SweepProgress,
    probe_seconds: float | None = None,
    process: int = 0,
) -> int:
    """Run one build job's pending points (in its process `process` of `runner.processes`);
    1 if a build ran, else 0."""
    bar = progress.job(job.label, len(pending))
    try:
        ran = _run_job_points(settings, context, job, pending, prefix, bar, probe_seconds, process)
    except BaseException:
        bar.close(completed=False)
        raise
    bar.close()
    return ran


def _run_job_points(
    settings: RunSettings,
    context: Context,
    job: BuildJob,
    pending: list[Point],
    prefix: str,
    bar: JobProgress,
    probe_seconds: float | None,
    process: int = 0,
) -> int:
    method_cls = job.method.load()
    experiment = settings.experiment
    missing = method_cls.missing_dependencies()
    if missing:
        hint = f" (pip install 'fanns-bench[{method_cls.extra}]')" if method_cls.extra else ""
        write_status_rows(
            settings.results_dir,
            context,
            job,
            pending,
            experiment,
            reason=f"{NOT_INSTALLED}: {', '.join(missing)}{hint}",
        )
        log.warning("%s %s: %s: %s", prefix, job.label, NOT_INSTALLED, ", ".join(missing))
        return 0
    supported = _write_unsupported(settings, context, job, pending, method_cls)
    if not supported:
        return 0
    log.info("%s %s: building, then %d points", prefix, job.label, len(supported))
    started = time.perf_counter()
    before = _stamps(settings.results_dir, supported)
    spec = WorkerSpec(
        job=job,
        points=supported,
        dataset_path=context.dataset.path,
        workload_dir=context.workload_dir,
        workload_name=context.workload.name,
        workload_digest=context.digest,
        results_dir=settings.results_dir,
        experiment=experiment,
        build_threads=settings.threads_for_build,
        deterministic_builds=settings.deterministic_builds,
        probe_seconds=probe_seconds,
        **settings.measurement,
        process=process,
        error_file=settings.results_dir / "errors" / f"job-{supported[0].key}.txt",
    )
    handing_over = process < settings.processes - 1
    for stale in spec.error_file.parent.glob(f"{spec.error_file.stem}*"):
        stale.unlink()  # an earlier run's
    written = {p.key for p in pending if p not in supported}  # unsupported: done already

    def done_now() -> set[str]:
        now = _stamps(settings.results_dir, supported)
        written.update(key for key, stamp in now.items() if stamp != before[key])
        if handing_over:
            written.update(p.key for p in supported if has_handover(settings.results_dir, p.key, process))
        return written

    tick = bar.poll(done_now, lambda: next(iter(_last_steps(spec)), "").removeprefix("last step started: "))
    reason = run_isolated(spec, job.timeout_s, settings.memory_limit_bytes, tick)
    if reason:
        reason = "; ".join([reason, *_last_steps(spec)])
        written_now = done_now()
        lost = [p for p in supported if p.key not in written_now]
        error = _job_error(spec, reason)
        write_status_rows(settings.results_dir, context, job, lost, experiment, reason=reason, error=error)
        log.warning("%s %s: %s (%d points failed)", prefix, job.label, reason, len(lost))
    else:
        log.info("%s %s: done in %.1f s", prefix, job.label, time.perf_counter() - started)
    return 1


def _last_steps(spec: WorkerSpec) -> list[str]:
    """What the job's worker(s) had started when it ended (`schedule.Steps`), if it said."""
    files = spec.error_file.parent.glob(f"{spec.error_file.stem}*-step{spec.error_file.suffix}")
    return [text for f in sorted(files) if (text := _text_if_present(f).strip())]


def _text_if_present(path: Path) -> str:
    """`path`'s text, or "" where no file is there: a running job's worker removes its step
    file when it ends (`schedule.Steps.done`), so one listed a moment ago may be gone when read."""
    try:
        return path.read_text(errors="replace")
    except (FileNotFoundError, IsADirectoryError):
        return ""


def _job_error(spec: WorkerSpec, reason: str) -> str:
    """What the point files of a job that failed as a whole say: the reason, then the
    worker's own error file (its traceback) where it left one."""
    files = sorted(spec.error_file.parent.glob(f"{spec.error_file.stem}*{spec.error_file.suffix}"))
    tracebacks = [text for f in files if not f.stem.endswith("-step") and (text := _text_if_present(f))]
    return "\n".join([reason, *tracebacks])


def _stamps(results_dir: Path, points: list[Point]) -> dict[str, tuple[int | None, int]]:
    """Per point: its row's modification time (ns) and how many failed attempts it has; a
    point whose stamp changed was written by the job (an older row from before --force,
    even one written a moment ago, does not count)."""
    attempts: dict[str, int] = {}
    for path in attempt_files(results_dir):
        key = path.name.partition(".")[0]
        attempts[key] = attempts.get(key, 0) + 1
    stamps = {}
    for point in points:
        try:
            mtime: int | None = row_path(results_dir, point.key).stat().st_mtime_ns
        except FileNotFoundError:
            mtime = None
        stamps[point.key] = (mtime, attempts.get(point.key, 0))
    return stamps


def _write_unsupported(
    settings: RunSettings, context: Context, job: BuildJob, pending: list[Point], method_cls: type
) -> list[Point]:
    """Record unsupported filter groups; return the points the method can answer."""
    kinds = context.dataset.attributes.kinds
    method = method_cls(metric=context.dataset.metric, threads=1, **job.build_params)
    reasons: dict[tuple[str, float], str | None] = {}
    for filter_type, bucket, rows in context.workload.groups():
        predicates = (context.workload.predicates[r] for r in rows)
        reasons[(filter_type, bucket)] = next(
            (r for p in predicates if (r := method.unsupported_reason(p, kinds))), None
        )
    supported = []
    for point in pending:
        reason = reasons[(point.filter_type, point.bucket)]
        if reason:
            write_status_rows(
                settings.results_dir,
                context,
                job,
                [point],
                settings.experiment,
                status=STATUS_UNSUPPORTED,
                reason=reason,
            )
        else:
            supported.append(point)
    return supported
