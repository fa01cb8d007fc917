"""Run a sweep: dataset -> workload -> ground truth -> every build job -> Parquet rows."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from fanns_bench.data.builders import ensure_dataset
from fanns_bench.errors import ConfigError
from fanns_bench.methods.registry import get_method
from fanns_bench.results.bucket_files import write_buckets
from fanns_bench.results.recompute import keep_ground_truth
from fanns_bench.results.row_files import (
    finished_keys,
    load_results,
    read_status,
    row_path,
    write_combined,
)
from fanns_bench.results.schema import STATUS_FAILED, STATUS_UNSUPPORTED
from fanns_bench.runner.context import Context, prepare_context
from fanns_bench.runner.isolation import run_isolated
from fanns_bench.runner.job import WorkerSpec
from fanns_bench.runner.plan import BuildJob, Point, build_jobs
from fanns_bench.runner.rows import write_status_rows
from fanns_bench.workloads.workload import WorkloadSpec, bucket_table

log = logging.getLogger(__name__)
NOT_INSTALLED = "not installed"


@dataclass
class RunSettings:
    """The `runner` section of the config, typed."""

    results_dir: Path
    datasets_dir: Path
    experiment: str = "default"
    k: list[int] = field(default_factory=lambda: [10])
    search_threads: list[int] = field(default_factory=lambda: [1])
    build_threads: int = 0  # 0: every core
    deterministic_builds: bool = True  # build on one thread where only that is deterministic
    builds: int = 1  # builds of each build configuration, each measured (build_repeat)
    repetitions: int = 3
    min_repetition_s: float = 0.1  # see configs/runner/default.yaml and README "Methodology"
    warmup: bool = True
    latency_queries: int = 100
    memory_limit_gb: float | None = None
    force: bool = False
    retry_failed: bool = False

    @classmethod
    def from_config(
        cls, runner: dict[str, Any], results_dir: str, datasets_dir: str, experiment: str
    ) -> RunSettings:
        known = set(cls.__dataclass_fields__) - {"results_dir", "datasets_dir", "experiment"}
        unknown = set(runner) - known
        if unknown:
            raise ConfigError(f"runner config: unknown keys {sorted(unknown)}; known: {sorted(known)}")
        settings = cls(Path(results_dir), Path(datasets_dir), experiment, **runner)
        settings.k = [int(k) for k in _as_list(settings.k)]
        settings.search_threads = [int(t) for t in _as_list(settings.search_threads)]
        if min(settings.k) < 1 or min(settings.search_threads) < 1 or settings.repetitions < 1:
            raise ConfigError("runner config: k, search_threads and repetitions must be >= 1")
        if isinstance(settings.builds, bool) or not isinstance(settings.builds, int) or settings.builds < 1:
            raise ConfigError(f"runner config: builds must be an integer >= 1, got {settings.builds!r}")
        if not isinstance(settings.deterministic_builds, bool):
            raise ConfigError(
                f"runner config: deterministic_builds must be true or false, "
                f"got {settings.deterministic_builds!r}"
            )
        return settings

    @property
    def threads_for_build(self) -> int:
        return self.build_threads or os.cpu_count() or 1

    @property
    def memory_limit_bytes(self) -> int | None:
        return int(self.memory_limit_gb * 2**30) if self.memory_limit_gb else None


@dataclass
class SweepOutcome:
    """What a sweep produced: its rows, where they are, and what could not run."""

    results_dir: Path
    rows: pd.DataFrame
    shortfalls: list[str]
    executed_jobs: int
    buckets: pd.DataFrame = field(default_factory=pd.DataFrame)  # `bucket_table` of the workload


def run_sweep(config: dict[str, Any]) -> SweepOutcome:
    """Run the sweep a composed config describes (see configs/config.yaml)."""
    paths, dataset_config = config["paths"], config["dataset"]
    settings = RunSettings.from_config(
        dict(config.get("runner") or {}),
        paths["results"],
        paths["datasets"],
        config.get("experiment", "default"),
    )
    dataset = ensure_dataset(
        dataset_config["name"],
        dataset_config["builder"],
        dict(dataset_config.get("params") or {}),
        settings.datasets_dir,
        directory=dataset_config.get("directory"),
    )
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
        measurement={
            "repetitions": settings.repetitions,
            "min_repetition_s": settings.min_repetition_s,
            "warmup": settings.warmup,
            "latency_queries": settings.latency_queries,
        },
        builds=settings.builds,
    )
    executed = 0
    done = set() if settings.force else finished_keys(settings.results_dir)  # jobs' keys are disjoint
    for number, job in enumerate(jobs, 1):
        pending = _pending(settings, job, done)
        if not pending:
            log.info("[%d/%d] %s: all %d points done", number, len(jobs), job.label, len(job.points))
            continue
        executed += _run_job(settings, context, job, pending, f"[{number}/{len(jobs)}]")
    keys = {p.key for job in jobs for p in job.points}
    rows = load_results(settings.results_dir)
    write_combined(settings.results_dir, rows)
    return SweepOutcome(
        settings.results_dir, rows[rows.key.isin(keys)], context.workload.shortfalls, executed, buckets
    )


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
    settings: RunSettings, context: Context, job: BuildJob, pending: list[Point], prefix: str
) -> int:
    method_cls = get_method(job.method_name)
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
    started, started_wall = time.perf_counter(), time.time()
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
        repetitions=settings.repetitions,
        warmup=settings.warmup,
        latency_queries=settings.latency_queries,
        min_repetition_s=settings.min_repetition_s,
        error_file=settings.results_dir / "errors" / f"{supported[0].key}.txt",
    )
    reason = run_isolated(spec, job.timeout_s, settings.memory_limit_bytes)
    if reason:
        lost = [p for p in supported if not _written_since(settings.results_dir, p, started_wall)]
        write_status_rows(settings.results_dir, context, job, lost, experiment, reason=reason)
        log.warning("%s %s: %s (%d points failed)", prefix, job.label, reason, len(lost))
    else:
        log.info("%s %s: done in %.1f s", prefix, job.label, time.perf_counter() - started)
    return 1


def _written_since(results_dir: Path, point: Point, since: float) -> bool:
    """Whether this job wrote the point's row (an older row from before --force does not count)."""
    path = row_path(results_dir, point.key)
    return path.is_file() and path.stat().st_mtime >= since - 1.0


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


def _as_list(value: Any) -> list:
    return list(value) if isinstance(value, list | tuple) else [value]
