"""Our versions of the seed paper's figures (Iff et al., arXiv:2507.21989v2), with its axes and
panels, drawn from the rows of the `paper_*` experiments by `fanns-bench report DIR --compare paper`.

Which figure, which experiments, which panels: the `figures` list of `paper_claims.yaml`.
- recall@k vs QPS (Figs. 23, 25, 27-29): the paper times every query of a filter type's query
  set in one loop, so a point here pools a configuration's rows over our selectivity buckets:
  QPS = sum of queries / sum of batch times, recall = the paper's micro-average over the
  pooled queries, sum of hits / sum of min(k, |gt|) (each bucket's recall weighted by its
  `recall_weight`, see `recall_weights`). A configuration missing a bucket is left out of the
  pooled panel (and named).
- recall@10 vs QPS per selectivity (Figs. 31/33/35): one panel per selectivity bucket.
- build time / peak memory / index size (Figs. 24, 26): one bar per method, per filter type;
  Figs. 30/32/34: per selectivity bucket, from the builds that served it.
ACORN is drawn twice, as in the paper (§5.5): its filter preparation timed (the paper's "upper
bound" curve, our `qps`) and not timed ("lower bound", our `qps_given_filter`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from fanns_bench.report.claims import absence
from fanns_bench.report.files import safe_name, save_figure, write_text
from fanns_bench.report.frame import machines, ok_points, selectivity_text
from fanns_bench.report.pareto import best_at_recall, pareto_frontier
from fanns_bench.report.plots import MB, _bar_handle, _line, _line_handle, _log_scale
from fanns_bench.report.styles import method_styles

FILTER_ORDER = ["EM", "R", "EMIS"]
CONFIG_KEYS = ["method", "build_params", "search_params", "k", "threads"]
LOWER_BOUND = " (lower bound: filter not timed)"
UPPER_BOUND = " (upper bound: filter timed)"
RANKING_RECALL = 0.95


@dataclass(frozen=True)
class PaperFigure:
    """One figure of the paper and how ours is drawn (see `figures` in paper_claims.yaml)."""

    figure: str
    content: str
    experiments: tuple[str, ...]
    panels: str  # filter_type | k | selectivity_bucket | resources | resources_by_selectivity
    k: int | None = None
    values: tuple[float, ...] = ()
    per_filter_type: tuple[str, ...] = ()  # figure numbers by filter type (EM, R, EMIS)
    run: tuple[str, ...] = ()  # the experiments that draw it (named when its rows are absent)

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> PaperFigure:
        return cls(
            figure=str(spec["figure"]),
            content=spec["content"],
            experiments=tuple(spec["experiments"]),
            panels=spec["panels"],
            k=spec.get("k"),
            values=tuple(spec.get("values", ())),
            per_filter_type=tuple(str(f) for f in spec.get("per_filter_type", ())),
            run=tuple(spec.get("run", ())),
        )

    def rows(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The rows of this figure's experiments (k and thread count as the paper: 1 thread)."""
        rows = frame[frame["experiment"].astype(str).str.startswith(self.experiments)]
        rows = rows[rows["filter_type"].isin(FILTER_ORDER)]
        if self.k is not None:
            rows = rows[rows["k"] == self.k]
        if len(rows):
            rows = rows[rows["threads"] == rows["threads"].min()]
        return rows


@dataclass
class DrawnFigure:
    """A figure we drew: the paper's figure it stands for, its files and its panels' rankings."""

    figure: str
    dataset: str
    paths: list[Path]
    rankings: list[tuple[str, str]]  # (panel, "method QPS, method QPS, ...")
    left_out: list[str]


def paper_figures(spec: dict[str, Any]) -> list[PaperFigure]:
    return [PaperFigure.from_spec(s) for s in spec.get("figures", [])]


def draw_paper_figures(frame: pd.DataFrame, spec: dict[str, Any], out_dir: Path) -> list[DrawnFigure]:
    """Every paper figure that `frame` has rows for, one per dataset, into `out_dir`."""
    drawn: list[DrawnFigure] = []
    styles = method_styles(_curve_names(frame))
    for figure in paper_figures(spec):
        rows = figure.rows(frame)
        draw = _resources if figure.panels.startswith("resources") else _recall_panels
        for dataset, data in rows.groupby("dataset_name", sort=True):
            if not figure.per_filter_type:
                drawn.append(draw(figure, figure.figure, str(dataset), data, styles, out_dir, spec))
                continue
            for filter_type, typed in data.groupby("filter_type", sort=False):
                number = figure.per_filter_type[FILTER_ORDER.index(filter_type)]
                drawn.append(draw(figure, number, str(dataset), typed, styles, out_dir, spec))
    return drawn


def pool_buckets(rows: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """One point per configuration over all selectivity buckets of its filter type: QPS =
    queries / summed batch time (also for `qps_given_filter`), recall = sum of hits / sum of
    min(k, |gt|) over every pooled query (the paper's micro-average: each bucket's recall
    weighted by `recall_weights`). Configurations without an ok row in every bucket are left
    out; returns them as text."""
    buckets = rows["selectivity_bucket"].nunique(dropna=False)
    points = ok_points(rows).copy()
    if points.empty:
        return points, []
    n = points["n_queries"].astype(float)
    weight = recall_weights(points)
    points = points.assign(
        weighted_recall=points["recall"] * weight,
        recall_weight=weight,
        seconds=n / points["qps"],
        given_seconds=n / points["qps_given_filter"].where(points["qps_given_filter"] > 0),
        bucket_count=1,
    )
    pooled = points.groupby(CONFIG_KEYS, sort=True).agg(
        n_queries=("n_queries", "sum"),
        weighted_recall=("weighted_recall", "sum"),
        recall_weight=("recall_weight", "sum"),
        seconds=("seconds", "sum"),
        given_seconds=("given_seconds", lambda s: s.sum(min_count=len(s))),
        bucket_count=("bucket_count", "sum"),
        build_seconds=("build_seconds", "median"),
        index_bytes=("index_bytes", "median"),
        build_peak_rss_bytes=("build_peak_rss_bytes", "max"),
    )
    pooled = pooled.reset_index()
    incomplete = pooled[pooled["bucket_count"] < buckets]
    pooled = pooled[pooled["bucket_count"] == buckets]
    pooled = pooled.assign(
        recall=pooled["weighted_recall"] / pooled["recall_weight"],
        qps=pooled["n_queries"] / pooled["seconds"],
        qps_given_filter=pooled["n_queries"] / pooled["given_seconds"],
        status="ok",
    )
    left_out = sorted(
        {
            f"{r.method} {r.build_params}: ok in {r.bucket_count} of {buckets} buckets"
            for r in incomplete.itertuples()
        }
    )
    return pooled, left_out


def recall_weights(rows: pd.DataFrame) -> pd.Series:
    """Per row, the denominator of its recall: sum over its queries of min(k, |gt|). Taken from
    a `recall_weight` column where one was attached (`attach_recall_weights`, exact), else k per
    query with a match (from `recall_per_query`; exact where every matching query matches >= k
    items, as in the paper workloads' buckets), else k per query."""
    k = rows["k"].astype(float)
    fallback = rows["n_queries"].astype(float) * k
    if "recall_per_query" in rows:
        matched = rows["recall_per_query"].map(
            lambda v: float(np.count_nonzero(~np.isnan(np.asarray(v, float)))) if v is not None else np.nan
        )
        fallback = (matched * k).fillna(fallback)
    if "recall_weight" in rows:
        return rows["recall_weight"].astype(float).fillna(fallback)
    return fallback


def attach_recall_weights(frame: pd.DataFrame, results_dir: Path) -> pd.DataFrame:
    """`frame` with `recall_weight` = sum of min(k, match count) over each row's queries, from the
    query tables a run keeps in `<results>/workloads/<digest>/` (rows without one keep NaN)."""
    if "workload_digest" not in frame:
        return frame
    weights = pd.Series(np.nan, index=frame.index)
    for digest, rows in frame.groupby("workload_digest", sort=False):
        path = Path(results_dir) / "workloads" / str(digest) / "workload.parquet"
        if not path.is_file():
            continue
        table = pd.read_parquet(path, columns=["filter_type", "selectivity_bucket", "match_count"])
        for (filter_type, bucket, k), group in rows.groupby(["filter_type", "selectivity_bucket", "k"]):
            same = np.isclose(table["selectivity_bucket"], bucket)
            held = table[(table["filter_type"] == filter_type) & same]
            if len(held) == int(group["n_queries"].iloc[0]):
                weights[group.index] = float(np.minimum(held["match_count"], k).sum())
    return frame.assign(recall_weight=weights)


def pooled_frame(rows: pd.DataFrame) -> pd.DataFrame:
    """`rows` as the paper times them: per (dataset, filter type) every configuration pooled
    over the selectivity buckets (`pool_buckets`), with `selectivity_bucket` NaN (all queries)."""
    parts = []
    for (dataset, filter_type), group in rows.groupby(["dataset", "filter_type"], sort=True):
        pooled, _ = pool_buckets(group)
        parts.append(
            pooled.assign(
                dataset=dataset,
                dataset_name=group["dataset_name"].iloc[0],
                dataset_count=group["dataset_count"].max(),
                filter_type=filter_type,
                selectivity_bucket=math.nan,
            )
        )
    return pd.concat(parts, ignore_index=True) if parts else rows.iloc[:0]


def figures_citing(spec: dict[str, Any], source: str) -> list[PaperFigure]:
    """The figures of `spec` that a claim's `source` ("§5.6, Fig. 23") names."""
    cited = figure_numbers(source)
    return [f for f in paper_figures(spec) if figure_numbers(f.figure) & cited]


def ranking(points: pd.DataFrame, level: float = RANKING_RECALL) -> str:
    """Methods by their best QPS at recall >= `level` ("—" when none reaches it)."""
    best = best_at_recall(points, level, keys=["method"]).sort_values("qps", ascending=False, kind="stable")
    if best.empty:
        return f"no method reaches recall {level:g}"
    return ", ".join(f"{method} {qps:,.0f}" for method, qps in zip(best["method"], best["qps"], strict=True))


def _recall_panels(
    figure: PaperFigure,
    number: str,
    dataset: str,
    rows: pd.DataFrame,
    styles: dict,
    out_dir: Path,
    spec: dict[str, Any],
) -> DrawnFigure:
    """Recall@k vs QPS (log), one panel per filter type, k or selectivity bucket."""
    panels = _panel_values(figure, rows)
    fig = Figure(figsize=(4.2 * len(panels) + 0.6, 4.4), layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    rankings, left_out, curves = [], [], set()
    for ax, value in zip(axes, panels, strict=True):
        panel_rows = rows[_panel_mask(rows, figure.panels, value)]
        if figure.panels == "selectivity_bucket":
            points, missing = ok_points(panel_rows), []
        else:
            points, missing = pool_buckets(panel_rows)
        title = _panel_title(figure.panels, value, panel_rows)
        left_out += [f"{title}: {m}" for m in missing]
        curves |= _draw_curves(ax, points, styles)
        k = int(panel_rows["k"].iloc[0]) if len(panel_rows) else figure.k
        _log_scale(ax, "y")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel(f"recall@{k}")
        ax.set_ylabel("QPS (queries/s, log)")
        ax.grid(True, which="major", color="0.9", linewidth=0.6)
        rankings.append((title, ranking(points)))
    title = f"Our Fig. {number}: {figure.content}\n{_scale_note(rows, spec)}"
    _legend(fig, sorted(curves), styles, title, rows)
    stem = safe_name("paper_fig", number, dataset)
    paths = save_figure(fig, out_dir, stem)
    paths.append(_caption(out_dir, stem, fig, rows, spec, left_out))
    return DrawnFigure(number, dataset, paths, rankings, left_out)


def _draw_curves(ax, points: pd.DataFrame, styles: dict) -> set[str]:
    """Each method's Pareto frontier; for ACORN also the given-filter ("lower bound") curve."""
    drawn = set()
    for method, curve in points.groupby("method", sort=True):
        frontier = pareto_frontier(curve)
        ax.plot(frontier["recall"], frontier["qps"], **_line(styles[method]))
        drawn.add(method)
        if method.startswith("acorn") and curve["qps_given_filter"].notna().any():
            lower = pareto_frontier(curve.assign(qps=curve["qps_given_filter"]))
            name = method + LOWER_BOUND
            ax.plot(lower["recall"], lower["qps"], **{**_line(styles[name]), "linestyle": ":"})
            drawn.add(name)
    return drawn


def _resources(
    figure: PaperFigure,
    number: str,
    dataset: str,
    rows: pd.DataFrame,
    styles: dict,
    out_dir: Path,
    spec: dict[str, Any],
) -> DrawnFigure:
    """Build time (log), peak memory and index size: one bar per method, one column per filter
    type (`resources`) or per selectivity bucket (`resources_by_selectivity`, where each
    bucket's bars are those of the builds that served its queries)."""
    by_bucket = figure.panels == "resources_by_selectivity"
    column_key = "selectivity_bucket" if by_bucket else "filter_type"
    columns = _panel_values(figure, rows, column_key)
    metrics = [
        ("build_seconds", 1.0, "build time (s, log)", True),
        ("peak_bytes", MB, "peak memory above baseline (MB)", False),
        ("index_bytes", MB, "index size (MB)", False),
    ]
    fig = Figure(figsize=(5.0 * len(columns) + 0.6, 9.0), layout="constrained")
    axes = fig.subplots(len(metrics), len(columns), squeeze=False)
    peaks = rows[["build_peak_rss_bytes", "search_peak_rss_bytes"]].max(axis=1)
    builds = ok_points(rows.assign(peak_bytes=peaks))
    rankings = []
    for column, value in enumerate(columns):
        per_method = (
            builds[_panel_mask(builds, column_key, value)]
            .groupby("method", sort=True)[[m for m, *_ in metrics]]
            .median()
        )
        title = _panel_title(column_key, value, rows[_panel_mask(rows, column_key, value)])
        for row, (metric, scale, label, log) in enumerate(metrics):
            _resource_bars(axes[row][column], per_method[metric].astype(float) / scale, styles, log)
            axes[row][column].set_ylabel(label)
            axes[row][column].set_title(title if row == 0 else "", fontsize=10)
        order = per_method["build_seconds"].sort_values(ascending=False)
        rankings.append((f"{title} build time", ", ".join(f"{m} {s:.3g} s" for m, s in order.items())))
    title = f"Our Fig. {number}: {figure.content}\n{_scale_note(rows, spec)}"
    _legend(fig, sorted(set(builds["method"])), styles, title, rows, bars=True)
    stem = safe_name("paper_fig", number, dataset)
    paths = save_figure(fig, out_dir, stem)
    paths.append(_caption(out_dir, stem, fig, rows, spec, []))
    return DrawnFigure(number, dataset, paths, rankings, [])


def _resource_bars(ax, values: pd.Series, styles: dict, log: bool) -> None:
    """One labelled bar per method (NaN values left out)."""
    positions = np.arange(len(values))
    for position, (method, value) in zip(positions, values.items(), strict=True):
        if math.isnan(value):
            continue
        style = styles[method]
        bar = ax.bar(position, value, color=style.color, hatch=style.hatch, edgecolor="black")
        ax.bar_label(bar, fmt="%.3g", fontsize=7, padding=1)
    if log and (values > 0).any():
        _log_scale(ax, "y")
    ax.set_xticks(positions, values.index, rotation=40, ha="right", fontsize=8)
    ax.grid(True, axis="y", color="0.92", linewidth=0.6)
    ax.set_axisbelow(True)


def _panel_values(figure: PaperFigure, rows: pd.DataFrame, column: str | None = None) -> list[Any]:
    column = column or figure.panels
    if column == "filter_type":
        return [t for t in FILTER_ORDER if t in set(rows["filter_type"])]
    present = sorted(float(v) for v in rows[column].dropna().unique())
    wanted = [v for v in present if not figure.values or any(math.isclose(v, w) for w in figure.values)]
    return wanted or present


def _panel_mask(rows: pd.DataFrame, panels: str, value: Any) -> pd.Series:
    column = rows[panels]
    return column == value if panels == "filter_type" else np.isclose(column.astype(float), float(value))


def _panel_title(panels: str, value: Any, rows: pd.DataFrame) -> str:
    if panels == "filter_type":
        return f"{value} (all queries)"
    if panels == "k":
        return f"{rows['filter_type'].iloc[0] if len(rows) else ''} · k = {int(value)}"
    achieved = rows["selectivity"].mean()
    return f"selectivity {selectivity_text(value)} (achieved {achieved:.3g})"


def _scale_note(rows: pd.DataFrame, spec: dict[str, Any]) -> str:
    count, dimension = int(rows["dataset_count"].max()), int(rows["dimension"].max())
    paper = "2,735,264 x 4096" if count >= 1_000_000 else "100,000 x 4096"
    return (
        f"here: {rows['dataset_name'].iloc[0]}, {count:,} x {dimension}, {machines(rows)}, "
        f"{int(rows['threads'].min())} query thread; paper: {paper} ({spec.get('paper', 'the paper')})"
    )


def _legend(
    fig: Figure, names: list[str], styles: dict, title: str, rows: pd.DataFrame, bars: bool = False
) -> None:
    fig.suptitle(title, fontsize=10)
    handles = []
    for name in names:
        if bars:
            handles.append(_bar_handle(name, styles[name]))
        else:
            handle = _line_handle(name, styles[name])
            if name.endswith(LOWER_BOUND):
                handle.set_linestyle(":")
            elif name + LOWER_BOUND in names:
                handle.set_label(name + UPPER_BOUND)
            handles.append(handle)
    fig.legend(
        handles=handles, loc="outside lower center", ncols=min(len(names), 4), frameon=False, fontsize=8
    )


def _curve_names(frame: pd.DataFrame) -> list[str]:
    methods = sorted(set(frame["method"]))
    return methods + [m + LOWER_BOUND for m in methods if m.startswith("acorn")]


def _caption(
    out_dir: Path, stem: str, fig: Figure, rows: pd.DataFrame, spec: dict[str, Any], left_out: list[str]
) -> Path:
    """`<stem>.txt`: title, how points are formed, which paper methods are absent and why."""
    present = set(rows["method"])
    absent = [
        f"{paper_name}: {absence(spec, paper_name)}"
        for paper_name, ours in spec.get("methods", {}).items()
        if not any(m in present for m in ours)
    ]
    lines = [
        fig.get_suptitle().replace("\n", " — "),
        "Pooled panels: a point is one configuration over all selectivity buckets of the filter type "
        "(QPS = queries / summed batch time; recall = sum of hits / sum of min(k, |gt|) over its queries).",
        "ACORN dotted: its filter preparation not timed (the paper's 'lower bound'); "
        "solid: timed ('upper bound').",
        "Paper methods not drawn: " + ("; ".join(absent) or "none"),
        "Configurations left out (not ok in every bucket): " + ("; ".join(left_out) or "none"),
    ]
    return write_text(Path(out_dir) / f"{stem}.txt", "\n".join(lines) + "\n")


def figure_numbers(text: str) -> set[int]:
    """Figure numbers named in `text`: "Fig. 23" -> {23}, "Figs. 27-29" -> {27, 28, 29},
    "31/33/35" -> {31, 33, 35}; a bare figure label ("27-29") is read the same way."""
    found: set[int] = set()
    spans = re.findall(r"Figs?\.\s*([\d/,\- ]+)", text) or [text]
    for span in spans:
        for low, high in re.findall(r"(\d+)(?:\s*-\s*(\d+))?", span):
            found.update(range(int(low), int(high or low) + 1))
    return found
