"""Result rows: the descriptive columns shared by measured, failed and unsupported rows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from fanns_bench.filters.predicates import from_json
from fanns_bench.filters.shape import shape
from fanns_bench.results.attempts import write_error
from fanns_bench.results.row_files import write_row
from fanns_bench.results.schema import STATUS_FAILED
from fanns_bench.runner.context import Context
from fanns_bench.runner.environment import environment_columns
from fanns_bench.runner.plan import METHODOLOGY_VERSION, BuildJob, Point, canonical


def base_row(context: Context, job: BuildJob, point: Point, experiment: str) -> dict[str, Any]:
    """Everything but the measurements."""
    table = context.workload.table
    group = table[(table.filter_type == point.filter_type) & (table.selectivity_bucket == point.bucket)]
    return {
        "key": point.key,
        "experiment": experiment,
        "dataset": context.dataset.name,
        "dataset_hash": context.dataset.content_hash,
        "dataset_count": context.dataset.count,
        "dimension": context.dataset.dimension,
        "metric": context.dataset.metric,
        "workload": context.workload.name,
        "workload_digest": context.digest,
        "methodology_version": METHODOLOGY_VERSION,
        "filter_type": point.filter_type,
        "selectivity_bucket": point.bucket,
        "selectivity": float(group.selectivity.mean()) if len(group) else None,
        "selectivity_min": float(group.selectivity.min()) if len(group) else None,
        "selectivity_median": float(group.selectivity.median()) if len(group) else None,
        "selectivity_max": float(group.selectivity.max()) if len(group) else None,
        "distinct_predicates": int(group.predicate.nunique()),
        "filter_shapes": sorted({shape(from_json(p)) for p in group.predicate.unique()}),
        "n_queries": len(group),
        "k": point.k,
        "method": job.method_key,
        "method_name": job.method.name,
        "method_package": job.method.package or None,
        "method_version": job.method.version or None,
        "method_threading": job.method.threading,
        "build_params": canonical(job.build_params),
        "build_repeat": job.build_repeat,
        "search_params": canonical(point.search_params),
        "threads": point.threads,
        "timestamp": dt.datetime.now(dt.UTC).replace(microsecond=0),
        **environment_columns(job.method.requires),
    }


def write_status_rows(
    results_dir: Path,
    context: Context,
    job: BuildJob,
    points: list[Point],
    experiment: str,
    status: str = STATUS_FAILED,
    reason: str = "",
    error: str | None = None,
) -> None:
    """Write one `failed`/`unsupported` row per point, with its reason; a failed point also
    gets its error file (`error`: the reason followed by a traceback; default the reason)."""
    for point in points:
        if status == STATUS_FAILED:
            write_error(results_dir, point.key, error or reason)
        write_row(
            results_dir,
            {**base_row(context, job, point, experiment), "status": status, "reason": reason},
        )
