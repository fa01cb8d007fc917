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
from fanns_bench.report.pareto import best_at_recall, pareto_frontiers, qps_at_recall
from fanns_bench.report.quality import flag, optional, single_thread_note, single_threaded, with_qps_bounds
from fanns_bench.report.render import fmt_number
from fanns_bench.report.styles import Style, method_styles

RECALL_LEVELS = (0.9, 0.95)
LOG_SPAN = 1e4
"""A log build-time axis spans at most this factor (exact's 1e-05 s must not squash the rest)."""
PANEL_COLUMNS = 4
CROWDED = 12
"""Above this many methods a recall-QPS figure draws larger panels, two a row."""
MB = 1e6
SPREAD_NOTE = (
    "Error bars: each point's spread, slowest to fastest timed repetition; hollow markers: "
    "points flagged noisy (their QPS may not repeat)."
)
FRONTIER_NOTE = (
    "Lines: each method's recall-QPS Pareto frontier over its build and search configs.\n"
    "x: recall@k; y: QPS, n_queries / median batch time (log); dotted verticals at recall 0.9, 0.95.\n"
    + SPREAD_NOTE
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
    frontiers = pareto_frontiers(with_qps_bounds(frame), recall_column)
    paths: list[Path] = []
    for key, rows in _groups(frontiers, FIGURE_KEYS):
        dataset, filter_type, k, threads = key
        buckets = _sorted_buckets(rows["selectivity_bucket"])
        figure, axes = _panel_grid(len(buckets), rows["method"].nunique())
        for ax, bucket in zip(axes, buckets, strict=False):
            panel = rows[_bucket_mask(rows, bucket)]
            for method, curve in panel.groupby("method", sort=True):
                ax.plot(curve[recall_column], curve["qps"], **_line(styles[method]))
                _spread(ax, curve[recall_column], curve, styles[method])
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
        note = "\n".join(filter(None, [FRONTIER_NOTE, single_thread_note(rows, int(threads))]))
        paths.append(_caption(out_dir, stem, figure, scope, note))
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
    points = ok_points(with_qps_bounds(frame))
    points = points[points["selectivity_bucket"] > 0]
    paths: list[Path] = []
    for key, rows in _groups(points, FIGURE_KEYS):
        dataset, filter_type, k, threads = key
        width, height = (7.0, 5.6) if rows["method"].nunique() > CROWDED else (5.2, 4.2)
        figure = Figure(figsize=(width * len(levels), height), layout="constrained")
        axes = figure.subplots(1, len(levels), squeeze=False)[0]
        unreached = []
        for ax, level in zip(axes, levels, strict=True):
            best = qps_at_recall(rows, level, recall_column).sort_values("selectivity_bucket")
            spread = best_at_recall(rows, level, recall_column)
            for method, line in best.groupby("method", sort=True):
                ax.plot(line["selectivity_bucket"], line["qps_at_recall"], **_line(styles[method]))
                reached = spread[spread["method"] == method]
                _spread(ax, reached["selectivity_bucket"], reached, styles[method])
                missing = line.loc[line["qps_at_recall"].isna(), "selectivity_bucket"]
                if len(missing):
                    buckets = ", ".join(f"{b:g}" for b in missing)
                    unreached.append(f"{method} never reaches recall {level:g} at {buckets}")
            if best["qps_at_recall"].notna().sum() == 0:
                ax.text(0.5, 0.5, f"no method reaches\nrecall@{k} ≥ {level:g}",
                        transform=ax.transAxes, ha="center", va="center", color="0.4")  # fmt: skip
            _log_scale(ax, "x")
            _log_scale(ax, "y")
            ax.set_title(f"best QPS at recall@{k} ≥ {level:g}", fontsize=10)
            ax.set_xlabel("selectivity bucket (share of items matching, log)")
            ax.set_ylabel("QPS (queries/s, log)")
            ax.grid(True, which="major", color="0.9", linewidth=0.6)
        title = f"{dataset} · filter {filter_type} · k={k} · QPS at fixed recall vs selectivity"
        _finish(figure, rows, styles, title)
        stem = safe_name("qps_vs_selectivity", dataset, filter_type, f"k{k}", f"t{threads}")
        paths += save_figure(figure, out_dir, stem)
        note = "A gap or missing point: the method does not reach that recall there.\n" + SPREAD_NOTE + "\n"
        note += "\n".join(filter(None, [single_thread_note(rows, int(threads)), *unreached]))
        paths.append(_caption(out_dir, stem, figure, _scope(frame, dataset, filter_type), note))
    return paths


def plot_build_resources(
    frame: pd.DataFrame, out_dir: Path, styles: dict[str, Style] | None = None
) -> list[Path]:
    """Build time, index size and build peak RSS, one horizontal bar per (method, build
    config) labelled `method #n`, with each config's parameters in a column beside the bars;
    one figure per (dataset, query threads of the rows)."""
    styles = styles or method_styles(frame["method"])
    paths: list[Path] = []
    for (dataset, threads), rows in _groups(ok_points(frame), ["dataset", "threads"]):
        builds = _builds(rows)
        height = max(3.0, 0.28 * len(builds) + 1.8)
        figure = Figure(figsize=(18.0, height), layout="constrained")
        axes = figure.subplots(1, 4, sharey=True, width_ratios=[1, 1, 1, 2.2])  # params: long lines
        panels = [
            ("build_seconds", 1.0, "build time (s, log)", True),
            ("index_bytes", MB, "index size (MB)", False),
            ("build_peak_rss_bytes", MB, "build peak RSS (MB)", False),
        ]
        positions = np.arange(len(builds))
        for ax, (column, scale, label, log) in zip(axes, panels, strict=False):
            _bars(ax, positions, builds, column, scale, styles, log)
            ax.set_xlabel(label)
            ax.set_axisbelow(True)
            ax.grid(True, axis="x", color="0.92", linewidth=0.6)
        axes[0].set_yticks(positions, builds["label"], fontsize=8)
        axes[0].set_ylim(len(builds) - 0.5, -0.5)  # first build on top, no empty margin
        _params_column(axes[-1], positions, builds)
        built_with = (
            ", ".join(str(int(t)) for t in sorted(set(optional(rows, "build_threads").dropna()))) or "?"
        )
        title = f"{dataset} · index build per method and build config (build threads: {built_with})"
        _finish(figure, rows, styles, title, bars=True)
        stem = safe_name("build", dataset, f"t{threads}")
        paths += save_figure(figure, out_dir, stem)
        scope = frame[frame["dataset"] == dataset]
        note = (
            "Bars: one per build config (median over its rows), labelled method #n; its build "
            "parameters are in the right-hand column. MB = 10^6 bytes. Build time: log axis from "
            "1/10,000 of the longest build; shorter builds are drawn at that edge with their value written.\n"
            + "\n".join(
                f"{label}: {params}" for label, params in zip(builds["label"], builds["params"], strict=True)
            )
        )
        paths.append(_caption(out_dir, stem, figure, scope, note))
    return paths


def _params_column(ax: Axes, positions, builds: pd.DataFrame) -> None:
    """The build parameters of each bar, as text at the bar's height (a table beside the bars)."""
    ax.set_xlim(0, 1)
    ax.set_xticks([])
    for side in ("top", "right", "bottom", "left"):
        ax.spines[side].set_visible(False)
    ax.tick_params(axis="y", left=False)
    ax.set_xlabel("build parameters", loc="left")
    for position, params in zip(positions, builds["params"], strict=True):
        ax.text(0.02, position, params, va="center", ha="left", fontsize=7, family="monospace")


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


def _panel_grid(count: int, methods: int) -> tuple[Figure, list[Axes]]:
    """`count` panels: 4 small ones a row, or, above `CROWDED` methods, 2 large ones a row."""
    crowded = methods > CROWDED
    columns = min(count, 2 if crowded else PANEL_COLUMNS)
    rows = math.ceil(count / columns)
    width, height = (6.4, 4.8) if crowded else (3.8, 3.3)
    figure = Figure(figsize=(width * columns + 0.6, height * rows + 1.0), layout="constrained")
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


def _spread(ax: Axes, x: pd.Series, points: pd.DataFrame, style: Style) -> None:
    """Error bars from each point's slowest to fastest repetition, and hollow markers over
    the points flagged noisy."""
    qps = points["qps"].to_numpy(float)
    below = np.clip(qps - points["qps_low"].to_numpy(float), 0, None)
    above = np.clip(points["qps_high"].to_numpy(float) - qps, 0, None)
    if (below + above > 0).any():
        ax.errorbar(x, qps, yerr=[below, above], fmt="none", ecolor=style.color, elinewidth=0.8,
                    capsize=2, alpha=0.8)  # fmt: skip
    noisy = flag(points, "noisy").to_numpy()
    if noisy.any():
        ax.plot(x[noisy], qps[noisy], linestyle="none", marker=style.marker, markersize=7,
                markerfacecolor="white", markeredgecolor=style.color, zorder=3)  # fmt: skip


def _finish(
    figure: Figure, rows: pd.DataFrame, styles: dict[str, Style], title: str, bars: bool = False
) -> None:
    """Suptitle with the query thread count and machine; for line figures one legend, where a
    method that ignores a query thread count above 1 says so (bars are labelled already)."""
    threads = sorted({int(t) for t in rows["threads"].dropna()})
    thread_text = ", ".join(threads_label(t) for t in threads) or "query threads unknown"
    figure.suptitle(f"{title}\n{thread_text} · {machines(rows)}", fontsize=11)
    methods = sorted(rows["method"].unique())
    ignoring = set(single_threaded(rows)) if threads and max(threads) > 1 else set()
    if bars:
        return  # every bar is labelled with its method
    handles = [_line_handle(m, styles[m]) for m in methods]
    for handle, method in zip(handles, methods, strict=True):
        if method in ignoring:
            handle.set_label(f"{method} (searches with 1 thread)")
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
    number = builds.groupby("method").cumcount() + 1
    counts = builds.groupby("method")["method"].transform("size")
    builds["label"] = [
        m if c == 1 else f"{m} #{n}" for m, n, c in zip(builds["method"], number, counts, strict=True)
    ]
    builds["params"] = [_compact(p) for p in builds["build_params"]]
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


def _bars(ax: Axes, positions, builds: pd.DataFrame, column: str, scale: float, styles, log: bool) -> None:
    """Horizontal bars of `column` / `scale`, each labelled with its value; on a log axis the
    left edge is 1/LOG_SPAN of the largest value, and smaller values are drawn at that edge."""
    values = builds[column].astype(float) / scale
    positive = values[values > 0]
    floor = positive.max() / LOG_SPAN if log and len(positive) else 0.0
    if log and len(positive):
        _log_scale(ax, "x")
        ax.set_xlim(max(positive.min(), floor) / 2, positive.max() * 4)
    else:
        ax.set_xlim(0, (values.max() if values.notna().any() else 1) * 1.25 or 1)
    for position, method, value in zip(positions, builds["method"], values, strict=True):
        if math.isnan(value):
            ax.text(0.01, position, "n/a", transform=ax.get_yaxis_transform(),
                    va="center", ha="left", fontsize=7, color="0.4")  # fmt: skip
            continue
        style = styles[method]
        start = ax.get_xlim()[0] if log else 0
        shown = max(value, floor) if log else value
        ax.barh(position, shown - start, left=start, height=0.7, color=style.color, hatch=style.hatch,
                edgecolor="black", linewidth=0.5)  # fmt: skip
        ax.text(max(shown, start), position, f" {fmt_number(value)}", va="center", ha="left", fontsize=7)


def _scope(frame: pd.DataFrame, dataset: str, filter_type: str) -> pd.DataFrame:
    return frame[(frame["dataset"] == dataset) & (frame["filter_type"] == filter_type)]


def _caption(out_dir: Path, stem: str, figure: Figure, scope: pd.DataFrame, note: str) -> Path:
    """`<stem>.txt`: the figure's title, a note, and the runs in its scope that are not drawn."""
    title = figure.get_suptitle().replace("\n", " — ")
    excluded = summarize_excluded(excluded_rows(scope)) or ["none"]
    text = f"{title}\n{note.rstrip()}\n\nNot drawn (failed / unsupported / no measurement):\n"
    return write_text(Path(out_dir) / f"{stem}.txt", text + "\n".join(excluded) + "\n")
