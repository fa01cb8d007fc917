"""Loading a results directory for reporting, and the row selections every report uses."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from fanns_bench.errors import ResultsError
from fanns_bench.results.row_files import load_results
from fanns_bench.results.schema import STATUS_OK

COMPARABLE_KEYS = ["dataset_hash", "workload_digest", "methodology_version"]
"""Rows that differ in these were measured on other data, queries or methodology."""

SECTION_KEYS = ["dataset", "filter_type", "selectivity_bucket", "k", "threads"]
"""One leaderboard section / one figure panel: points in it are comparable."""

SERIES_KEYS = [*SECTION_KEYS, "method"]
"""One method's curve within a section."""

FIGURE_KEYS = ["dataset", "filter_type", "k", "threads"]
"""One recall-QPS figure; its panels are the selectivity buckets."""


QPS_MEANINGS = {
    "qps": "end to end (each query's predicate turned into the method's filter input, then searched)",
    "qps_given_filter": "search alone (the method's filter input prepared beforehand, untimed)",
}


def choose_qps(frame: pd.DataFrame, qps: str) -> pd.DataFrame:
    """`frame` with `qps` holding the chosen throughput (`qps` or `qps_given_filter`)."""
    if qps not in QPS_MEANINGS:
        raise ResultsError(f"--qps {qps!r}: expected one of {sorted(QPS_MEANINGS)}")
    chosen = frame if qps == "qps" else frame.assign(qps=frame[qps])
    chosen.attrs["qps"] = qps
    return chosen


def load_frame(results_dir: Path) -> pd.DataFrame:
    """All rows of `results_dir`; a missing, empty or unreadable directory raises `ResultsError`."""
    results_dir = Path(results_dir)
    if results_dir.exists() and not results_dir.is_dir():
        raise ResultsError(f"{results_dir}: not a directory; pass a results directory")
    try:
        frame = load_results(results_dir)
    except OSError as error:
        raise ResultsError(f"{results_dir}: cannot read results directory ({error})") from None
    if frame.empty:
        raise ResultsError(f"{results_dir}: the result files hold no rows")
    return label_comparable(frame)


def label_comparable(frame: pd.DataFrame) -> pd.DataFrame:
    """Keep non-comparable rows apart: where one dataset name covers several (dataset content,
    workload, methodology) combinations, each gets its own `dataset` label, e.g.
    `arxiv_sample [3fa2c1/9b01de/m2]`, so no section, figure or table pools them.
    The plain name stays in `dataset_name`."""
    frame = frame.assign(dataset_name=frame["dataset"])
    keys = [k for k in COMPARABLE_KEYS if k in frame]
    if not keys:
        return frame
    variants = frame[["dataset", *keys]].astype(str).drop_duplicates()
    ambiguous = set(variants["dataset"][variants["dataset"].duplicated()])
    if not ambiguous:
        return frame
    mixed = frame["dataset"].isin(ambiguous)
    tags = (
        frame.loc[mixed, keys]
        .astype(str)
        .apply(
            lambda row: "/".join(
                value[:6] if key != "methodology_version" else f"m{value}" for key, value in row.items()
            ),
            axis=1,
        )
    )
    frame.loc[mixed, "dataset"] = frame.loc[mixed, "dataset"] + " [" + tags + "]"
    return frame


def usable(frame: pd.DataFrame) -> pd.Series:
    """Mask of rows that can be plotted: status ok with a finite recall and a positive QPS."""
    recall, qps = frame["recall"].astype(float), frame["qps"].astype(float)
    return (frame["status"] == STATUS_OK) & np.isfinite(recall) & np.isfinite(qps) & (qps > 0)


def ok_points(frame: pd.DataFrame) -> pd.DataFrame:
    """The plottable rows of `frame`."""
    return frame[usable(frame)]


def excluded_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Failed and unsupported rows, and ok rows without a usable measurement (reason filled in)."""
    excluded = frame[~usable(frame)].copy()
    broken = excluded["status"] == STATUS_OK
    excluded.loc[broken, "reason"] = "status ok but recall/qps missing or not positive"
    excluded["reason"] = excluded["reason"].fillna("no reason recorded")
    return excluded


def summarize_excluded(excluded: pd.DataFrame) -> list[str]:
    """One line per (method, status, build params, reason), with how many rows it covers."""
    if excluded.empty:
        return []
    keys = ["method", "status", "build_params", "reason"]
    lines = []
    grouped = excluded.fillna({"build_params": "{}"}).groupby(keys, sort=True)
    for (method, status, build_params, reason), rows in grouped:
        where = ", ".join(sorted({describe_scope(row) for row in rows.itertuples()}))
        lines.append(
            f"{method} [{status}] build {build_params}: {reason} "
            f"({len(rows)} row{'' if len(rows) == 1 else 's'}: {where})"
        )
    return lines


def describe_scope(row) -> str:
    """`dataset/filter_type/selectivity label/k` of one row, for captions."""
    return f"{row.dataset}/{row.filter_type}/{bucket_label(row.selectivity_bucket)}/k={row.k}"


def bucket_label(bucket: float | None) -> str:
    """Readable name of a selectivity bucket; an absent bucket means the whole workload."""
    if bucket is None or (isinstance(bucket, float) and math.isnan(bucket)):
        return "all queries"
    return f"selectivity {selectivity_text(bucket)}"


def selectivity_text(value: float) -> str:
    """`0.01` -> "0.01"; a power of two at or below 1/8 also names the power: "2^-12 ≈ 0.000244"."""
    exponent = math.log2(value) if value > 0 else 0.0
    if exponent <= -3 and exponent == int(exponent):
        return f"2^{int(exponent)} ≈ {value:.3g}"
    return f"{value:.3g}"


def machines(frame: pd.DataFrame) -> str:
    """The cpu_model(s) of `frame`, for titles ("mixed:" when rows come from several)."""
    if "cpu_model" not in frame:
        return "unknown machine"
    models = sorted({str(m) for m in frame["cpu_model"].dropna()})
    if not models:
        return "unknown machine"
    return models[0] if len(models) == 1 else "mixed: " + "; ".join(models)


def threads_label(threads: int) -> str:
    """The query thread count of a section (build threads are another column)."""
    return f"{threads} query thread" + ("" if threads == 1 else "s")
