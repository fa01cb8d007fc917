"""Figures from a results frame: recall-QPS frontiers, QPS at recall vs selectivity, build bars.

Matplotlib's object API only (no pyplot, no display, Agg rendering). Every figure is written
as PNG and PDF with a `.txt` caption beside it that lists the runs left out of it (failed,
unsupported); each function returns the paths it wrote.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import LogFormatterSciNotation

from fanns_bench.report.files import safe_name, save_figure, write_text
from fanns_bench.report.frame import (
    FIGURE_KEYS,
    bucket_label,
    excluded_rows,
    machines,
    ok_points,
    summarize_excluded,
    threads_label,
)
from fanns_bench.report.pareto import pareto_frontiers, qps_at_recall
from fanns_bench.report.styles import Style, method_styles

RECALL_LEVELS = (0.9, 0.95)
PANEL_COLUMNS = 4
MB = 1e6
FRONTIER_NOTE = (
    "Lines: each method's recall-QPS Pareto frontier over its build and search configs.\n"
    "x: recall@k; y: QPS, n_queries / median batch time (log); dotted verticals at recall 0.9, 0.95."
)


def plot_recall_qps(
    frame: pd.DataFrame,
    out_dir: Path,
    styles: dict[str, Style] | None = None,
    recall_column: str = "recall",
) -> list[Path]:
    """Recall@k vs QPS (log) Pareto curves: one figure per (dataset, filter type, k, threads),
    one panel per selectivity bucket."""
    styles = styles or method_styles(frame["method"])
    frontiers = pareto_frontiers(frame, recall_column)
    paths: list[Path] = []
    for key, rows in _groups(frontiers, FIGURE_KEYS):
        dataset, filter_type, k, threads = key
        buckets = _sorted_buckets(rows["selectivity_bucket"])
        figure, axes = _panel_grid(len(buckets))
        for ax, bucket in zip(axes, buckets, strict=False):
            panel = rows[_bucket_mask(rows, bucket)]
            for method, curve in panel.groupby("method", sort=True):
                ax.plot(curve[recall_column], curve["qps"], **_line(styles[method]))
            for level in RECALL_LEVELS:
                ax.axvline(level, color="0.6", linewidth=0.8, linestyle=(0, (1, 3)), zorder=0)
            _log_scale(ax, "y")
            ax.set_title(_panel_title(panel, bucket), fontsize=9)
            ax.set_xlabel(f"recall@{k} ({_recall_name(recall_column)})")
            ax.set_ylabel("throughput (queries/s, log)")
            ax.grid(True, which="major", color="0.9", linewidth=0.6)
        title = f"{dataset} · filter {filter_type} · recall@{k} vs QPS (Pareto frontiers)"
        _finish(figure, rows, styles, title)
        stem = safe_name("recall_qps", dataset, filter_type, f"k{k}", f"t{threads}")
        paths += save_figure(figure, out_dir, stem)
        scope = _scope(frame, dataset, filter_type)
        paths.append(_caption(out_dir, stem, figure, scope, FRONTIER_NOTE))
    return paths


def plot_qps_vs_selectivity(
    frame: pd.DataFrame,
    out_dir: Path,
    styles: dict[str, Style] | None = None,
    recall_column: str = "recall",
    levels: tuple[float, ...] = RECALL_LEVELS,
) -> list[Path]:
    """Best QPS at recall >= each level vs selectivity bucket (log-log), one line per method;
    one figure per (dataset, filter type, k, threads) with at least one bucket > 0."""
    styles = styles or method_styles(frame["method"])
    points = ok_points(frame)
    points = points[points["selectivity_bucket"] > 0]
    paths: list[Path] = []
    for key, rows in _groups(points, FIGURE_KEYS):
        dataset, filter_type, k, threads = key
        figure = Figure(figsize=(5.2 * len(levels), 4.2), layout="constrained")
        axes = figure.subplots(1, len(levels), squeeze=False)[0]
        unreached = []
        for ax, level in zip(axes, levels, strict=True):
            best = qps_at_recall(rows, level, recall_column).sort_values("selectivity_bucket")
            for method, line in best.groupby("method", sort=True):
                ax.plot(line["selectivity_bucket"], line["qps_at_recall"], **_line(styles[method]))
                missing = line.loc[line["qps_at_recall"].isna(), "selectivity_bucket"]
                if len(missing):
                    buckets = ", ".join(f"{b:g}" for b in missing)
                    unreached.append(f"{method} never reaches recall {level:g} at {buckets}")
            if best["qps_at_recall"].notna().sum() == 0:
                ax.text(0.5, 0.5, f"no method reaches\nrecall@{k} ≥ {level:g}",
                        transform=ax.transAxes, ha="center", va="center", color="0.4")  # fmt: skip
            _log_scale(ax, "x")
            _log_scale(ax, "y")
            ax.set_title(f"recall@{k} ≥ {level:g}", fontsize=10)
            ax.set_xlabel("selectivity bucket (fraction of items matching, log)")
            ax.set_ylabel(f"best QPS at recall@{k} ≥ {level:g} (queries/s, log)")
            ax.grid(True, which="major", color="0.9", linewidth=0.6)
        title = f"{dataset} · filter {filter_type} · k={k} · QPS at fixed recall vs selectivity"
        _finish(figure, rows, styles, title)
        stem = safe_name("qps_vs_selectivity", dataset, filter_type, f"k{k}", f"t{threads}")
        paths += save_figure(figure, out_dir, stem)
        note = "A gap or missing point: the method does not reach that recall there.\n"
        note += "\n".join(unreached)
        paths.append(_caption(out_dir, stem, figure, _scope(frame, dataset, filter_type), note))
    return paths


def plot_build_resources(
    frame: pd.DataFrame, out_dir: Path, styles: dict[str, Style] | None = None
) -> list[Path]:
    """Build time, index size and build peak RSS, one bar per (method, build config);
    one figure per (dataset, threads)."""
    styles = styles or method_styles(frame["method"])
    paths: list[Path] = []
    for (dataset, threads), rows in _groups(ok_points(frame), ["dataset", "threads"]):
        builds = _builds(rows)
        width = min(40.0, max(6.0, 0.5 * len(builds) + 2.5))
        figure = Figure(figsize=(width, 9.0), layout="constrained")
        axes = figure.subplots(3, 1, sharex=True)
        panels = [
            ("build_seconds", 1.0, "build time (s, log)", True),
            ("index_bytes", MB, "index size (MB = 10^6 bytes)", False),
            ("build_peak_rss_bytes", MB, "build peak RSS (MB)", False),
        ]
        positions = np.arange(len(builds))
        for ax, (column, scale, label, log) in zip(axes, panels, strict=True):
            _bars(ax, positions, builds, column, scale, styles)
            ax.set_ylabel(label)
            positive = builds.loc[builds[column] > 0, column] / scale
            if log and len(positive):
                _log_scale(ax, "y")
                ax.set_ylim(positive.min() / 3, positive.max() * 2)
            else:
                ax.margins(y=0.12)
            ax.set_axisbelow(True)
            ax.grid(True, axis="y", color="0.92", linewidth=0.6)
        axes[-1].set_xticks(positions, builds["label"], rotation=35, ha="right", fontsize=8)
        title = f"{dataset} · index build per method and build config"
        _finish(figure, rows, styles, title, bars=True)
        stem = safe_name("build", dataset, f"t{threads}")
        paths += save_figure(figure, out_dir, stem)
        scope = frame[frame["dataset"] == dataset]
        note = "Bars: one per build config (median over its rows); labels: method and build params."
        paths.append(_caption(out_dir, stem, figure, scope, note))
    return paths


def write_excluded_list(frame: pd.DataFrame, out_dir: Path) -> Path:
    """`excluded_runs.txt`: every failed/unsupported run (grouped), left out of all curves."""
    lines = summarize_excluded(excluded_rows(frame)) or ["none"]
    text = "Runs left out of every figure (failed, unsupported, or without a measurement):\n"
    return write_text(Path(out_dir) / "excluded_runs.txt", text + "\n".join(lines) + "\n")


def _groups(frame: pd.DataFrame, keys: list[str]):
    """(key tuple, rows) for each group of `keys` (NaN keys kept), in sorted order."""
    if frame.empty:
        return []
    return list(frame.groupby(keys, dropna=False, sort=True))


def _sorted_buckets(buckets: pd.Series) -> list[float]:
    """Finite buckets ascending, then NaN (the whole workload) when present."""
    finite = sorted(float(v) for v in buckets.dropna().unique())
    return finite + ([math.nan] if buckets.isna().any() else [])


def _bucket_mask(rows: pd.DataFrame, bucket: float) -> pd.Series:
    column = rows["selectivity_bucket"]
    return column.isna() if math.isnan(bucket) else column == bucket


def _panel_grid(count: int) -> tuple[Figure, list[Axes]]:
    columns = min(count, PANEL_COLUMNS)
    rows = math.ceil(count / columns)
    figure = Figure(figsize=(3.8 * columns + 0.6, 3.3 * rows + 1.0), layout="constrained")
    axes = list(figure.subplots(rows, columns, squeeze=False).ravel())
    for spare in axes[count:]:
        spare.set_visible(False)
    return figure, axes[:count]


def _panel_title(panel: pd.DataFrame, bucket: float) -> str:
    achieved = panel["selectivity"].mean()
    suffix = "" if math.isnan(achieved) else f" (achieved {achieved:.3g})"
    return bucket_label(bucket) + suffix


def _recall_name(recall_column: str) -> str:
    return "tie-aware" if recall_column == "recall_tie_aware" else "micro-averaged"


def _line(style: Style) -> dict:
    return {**style.line_kwargs(), "markersize": 5, "linewidth": 1.4}


def _finish(
    figure: Figure, rows: pd.DataFrame, styles: dict[str, Style], title: str, bars: bool = False
) -> None:
    """Suptitle with threads and machine; one legend (lines or bar patches) for the figure."""
    threads = sorted({int(t) for t in rows["threads"].dropna()})
    thread_text = ", ".join(threads_label(t) for t in threads) or "threads unknown"
    figure.suptitle(f"{title}\n{thread_text} · {machines(rows)}", fontsize=11)
    methods = sorted(rows["method"].unique())
    handles = [_bar_handle(m, styles[m]) if bars else _line_handle(m, styles[m]) for m in methods]
    figure.legend(handles=handles, loc="outside lower center", ncols=min(len(methods), 5), frameon=False)


def _line_handle(method: str, style: Style) -> Line2D:
    return Line2D([], [], label=method, **_line(style))


def _bar_handle(method: str, style: Style) -> Patch:
    return Patch(facecolor=style.color, hatch=style.hatch, edgecolor="black", label=method)


class _PlainLogFormatter(LogFormatterSciNotation):
    """Log-axis labels as plain numbers (2k, 1.5M, 0.01), on the ticks matplotlib would label."""

    def __call__(self, x: float, pos: int | None = None) -> str:
        if not super().__call__(x, pos):
            return ""
        for factor, suffix in ((1e6, "M"), (1e3, "k")):
            if x >= factor:
                return f"{x / factor:g}{suffix}"
        return f"{x:g}"


def _log_scale(ax: Axes, which: str) -> None:
    """Log scale on the `which` ("x" or "y") axis of `ax`, with plain-number labels."""
    (ax.set_xscale if which == "x" else ax.set_yscale)("log")
    axis = ax.xaxis if which == "x" else ax.yaxis
    axis.set_major_formatter(_PlainLogFormatter())
    axis.set_minor_formatter(_PlainLogFormatter(labelOnlyBase=False))


def _builds(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per (method, build params): median resource columns and a tick label."""
    columns = ["build_seconds", "index_bytes", "build_peak_rss_bytes"]
    builds = (
        rows.fillna({"build_params": "{}"})
        .groupby(["method", "build_params"], sort=True)[columns]
        .median()
        .reset_index()
    )
    builds["label"] = [
        f"{m}\n{_compact(p)}" for m, p in zip(builds["method"], builds["build_params"], strict=True)
    ]
    return builds


def _compact(params_json: str) -> str:
    """`{"M": 16, "ef": 200}` -> `M=16 ef=200` (the JSON itself when it is not a JSON object)."""
    try:
        params = json.loads(params_json)
    except (TypeError, ValueError):
        return str(params_json)
    if not isinstance(params, dict):
        return str(params_json)
    return " ".join(f"{k}={v}" for k, v in params.items()) or "defaults"


def _bars(ax: Axes, positions, builds: pd.DataFrame, column: str, scale: float, styles) -> None:
    values = builds[column].astype(float) / scale
    for position, method, value in zip(positions, builds["method"], values, strict=True):
        if math.isnan(value):
            ax.text(position, 0.02, "n/a", transform=ax.get_xaxis_transform(),
                    ha="center", va="bottom", fontsize=7, color="0.4")  # fmt: skip
            continue
        style = styles[method]
        bars = ax.bar(position, value, color=style.color, hatch=style.hatch, edgecolor="black")
        ax.bar_label(bars, fmt="%.3g", fontsize=7, padding=1)


def _scope(frame: pd.DataFrame, dataset: str, filter_type: str) -> pd.DataFrame:
    return frame[(frame["dataset"] == dataset) & (frame["filter_type"] == filter_type)]


def _caption(out_dir: Path, stem: str, figure: Figure, scope: pd.DataFrame, note: str) -> Path:
    """`<stem>.txt`: the figure's title, a note, and the runs in its scope that are not drawn."""
    title = figure.get_suptitle().replace("\n", " — ")
    excluded = summarize_excluded(excluded_rows(scope)) or ["none"]
    text = f"{title}\n{note.rstrip()}\n\nNot drawn (failed / unsupported / no measurement):\n"
    return write_text(Path(out_dir) / f"{stem}.txt", text + "\n".join(excluded) + "\n")
