"""The figure of `recommend --grade --figure`: per filter type, the router's QPS at the target
recall beside the best single method's in each selectivity bucket (held-out rows).

One panel per filter type; x: the selectivity buckets, y: QPS at recall >= target (log). The
best single method of each cell is a black line whose points are labelled with its name, the
grey band under it is the 10 % the router may lose there (target b), the router is the blue
line with its slowest-fastest repetition as error bars; a red cross marks a cell where the
router does not reach the recall (at its fastest row, labelled with its recall). The dashed
line is the single method that answers every filter type with the highest whole-workload
throughput (the one target c compares against).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from fanns_bench.atomic_files import temporary_sibling
from fanns_bench.methods.router.method import ANSWERED
from fanns_bench.recommend.choose import CELL_KEYS, is_router
from fanns_bench.recommend.evaluate import CellGrade, full_coverage, grade_cells, workload_throughput
from fanns_bench.report.frame import ok_points
from fanns_bench.report.pareto import best_at_recall

ROUTER_COLOR = "#0072B2"
MISS_COLOR = "#D55E00"
RIVAL_COLOR = "#7F7F7F"
PANEL_COLUMNS = 3


def draw_grades(
    frame: pd.DataFrame,
    recall: float,
    path: Path,
    title: str,
    band: float = 0.1,
    how: str = "",
    workload_rows: pd.DataFrame | None = None,
    spread: str = "repetition",
) -> Path:
    """Draw the grades of `frame` (one dataset, k, thread count) into the PNG `path`; `how`:
    a line on where the figures come from (paired rounds); `workload_rows`: the rows the
    whole-workload line is drawn from (default `frame`); `spread`: what the router's bars span
    (the rows' repetitions, or paired rounds)."""
    grades = grade_cells(frame, recall)
    types = list(dict.fromkeys(g.filter_type for g in grades))
    rows = max(1, math.ceil(len(types) / PANEL_COLUMNS))
    columns = min(PANEL_COLUMNS, max(1, len(types)))
    figure = Figure(figsize=(4.6 * columns, 3.6 * rows + 1.4), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    rival = _rival(frame if workload_rows is None else workload_rows, recall)
    router_rows = _router_best_rows(frame, recall)
    for ax, filter_type in zip(axes, types, strict=False):
        cells = [g for g in grades if g.filter_type == filter_type]
        _panel(ax, cells, router_rows, rival, recall, band)
        ax.set_title(f"filter type {filter_type}", fontsize=10)
    for ax in axes[len(types) :]:
        ax.set_visible(False)
    figure.suptitle(
        f"Router (policy learned on another query draw) vs the best single method per cell\n{title}",
        fontsize=11,
    )
    explanation = (
        f"y: queries per second at recall@k >= {recall:g}, end to end (predicate to ids), log scale. "
        "Each cell's best single method is the fastest configuration\nof any single method reaching "
        "the recall in that cell on these held-out queries; a missing black point: none reaches it."
        + (f"\n{how}" if how else "")
    )
    figure.legend(
        handles=_handles(rival, band, spread),
        loc="outside lower center",
        ncols=2,
        frameon=False,
        fontsize=8,
        title=explanation,
        title_fontsize=8,
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_sibling(path)
    figure.savefig(tmp, format="png", dpi=150, bbox_inches="tight")
    os.replace(tmp, path)
    return path


def _panel(ax, cells: list[CellGrade], router_rows: pd.DataFrame, rival, recall: float, band: float) -> None:
    positions = range(len(cells))
    best = [g.best_qps for g in cells]
    for x, g in zip(positions, cells, strict=True):
        if g.reachable:
            ax.fill_between([x - 0.3, x + 0.3], (1 - band) * g.best_qps, g.best_qps, color="#DDDDDD", lw=0)
            ax.annotate(
                g.best_method,
                (x, g.best_qps),
                textcoords="offset points",
                xytext=(0, 6),
                ha="center",
                fontsize=7,
            )
    ax.plot(positions, best, color="black", marker="s", lw=1.2, label="best single method in the cell")
    reached = [(x, g) for x, g in zip(positions, cells, strict=True) if g.reached]
    if reached:
        xs = [x for x, _ in reached]
        qps = [g.router_qps for _, g in reached]
        low = [g.router_qps - _bound(router_rows, g, "qps_low") for _, g in reached]
        high = [_bound(router_rows, g, "qps_high") - g.router_qps for _, g in reached]
        ax.errorbar(
            xs, qps, yerr=[low, high], color=ROUTER_COLOR, marker="o", lw=2, capsize=3, label="router"
        )
        for x, g in reached:
            ax.annotate(
                _routed_to(_router_row(router_rows, g, reaching=True)),
                (x, g.router_qps),
                textcoords="offset points",
                xytext=(0, -11),
                ha="center",
                fontsize=7,
                color=ROUTER_COLOR,
            )
    for x, g in zip(positions, cells, strict=True):
        missed = _router_row(router_rows, g, reaching=False)
        if not g.reached and missed is not None:
            ax.plot([x], [missed["qps"]], marker="x", color=MISS_COLOR, ms=9, mew=2, ls="none")
            ax.annotate(
                f"recall {missed['recall']:.2f}",
                (x, missed["qps"]),
                textcoords="offset points",
                xytext=(0, -12),
                ha="center",
                fontsize=7,
                color=MISS_COLOR,
            )
    if rival is not None:
        name, rows = rival
        qps = [_cell_qps(rows, g) for g in cells]
        ax.plot(
            positions, qps, color=RIVAL_COLOR, ls="--", marker=".", lw=1, label=f"{name} (all filter types)"
        )
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_xticks(list(positions), [_bucket_text(g.bucket) for g in cells])
    ax.set_xlabel("selectivity bucket (share of items matching)", fontsize=8)
    ax.set_ylabel(f"QPS at recall >= {recall:g}", fontsize=8)
    ax.set_xlim(-0.5, len(cells) - 0.5)
    ax.margins(y=0.25)
    ax.grid(axis="y", which="major", alpha=0.3)


def _handles(rival, band: float, spread: str) -> list:
    handles = [
        Line2D([], [], color="black", marker="s", label="best single method in the cell (its name above it)"),
        Line2D(
            [],
            [],
            color=ROUTER_COLOR,
            marker="o",
            lw=2,
            label=f"router, '-> method' it sent the queries to (bars: slowest to fastest {spread})",
        ),
        Patch(color="#DDDDDD", label=f"within {band:.0%} of the best (target b)"),
        Line2D(
            [], [], color=MISS_COLOR, marker="x", ls="none", mew=2, label="router below the recall (target a)"
        ),
    ]
    if rival is not None:
        label = (
            f"{rival[0]}: of the single methods answering every filter type, the fastest overall (target c)"
        )
        handles.append(Line2D([], [], color=RIVAL_COLOR, ls="--", marker=".", label=label))
    return handles


def _routed_to(row: pd.Series | None) -> str:
    """`-> method` the router sent most of the cell's queries to (`method_stats` counters),
    `+n` when n other routes answered some."""
    try:
        stats = json.loads(row["method_stats"]) if row is not None else {}
    except (KeyError, TypeError, ValueError):
        return ""
    counts = {k[len(ANSWERED) :].split(" ")[0]: v for k, v in (stats or {}).items() if k.startswith(ANSWERED)}
    if not counts:
        return ""
    top = max(counts, key=lambda m: counts[m])
    return f"-> {top}" + (f" +{len(counts) - 1}" if len(counts) > 1 else "")


def _bucket_text(bucket: float) -> str:
    return "all (unfiltered)" if bucket >= 1 else f"{bucket * 100:g} %"


def _router_best_rows(frame: pd.DataFrame, recall: float) -> pd.DataFrame:
    points = ok_points(frame)
    return points[is_router(points)].assign(reaches=lambda f: f["recall"] >= recall - 1e-9)


def _router_row(rows: pd.DataFrame, g: CellGrade, reaching: bool) -> pd.Series | None:
    cell = rows[(rows["filter_type"] == g.filter_type) & (rows["selectivity_bucket"] == g.bucket)]
    cell = cell[cell["reaches"]] if reaching else cell
    return None if cell.empty else cell.sort_values("qps", ascending=False).iloc[0]


def _bound(rows: pd.DataFrame, g: CellGrade, column: str) -> float:
    row = _router_row(rows, g, reaching=True)
    if row is None or column not in row or pd.isna(row[column]):
        return g.router_qps
    return float(row[column])


def _rival(frame: pd.DataFrame, recall: float) -> tuple[str, pd.DataFrame] | None:
    """The single method answering every cell with the highest whole-workload throughput, with
    its fastest row reaching the recall per cell."""
    totals, _ = workload_throughput(frame, recall)
    scored = [m for m in full_coverage(frame) if m in totals]
    if not scored:
        return None
    name = max(scored, key=lambda m: totals[m])
    points = ok_points(frame)
    return name, best_at_recall(points[points["method"] == name], recall)


def _cell_qps(rows: pd.DataFrame, g: CellGrade) -> float:
    cell = rows[(rows[CELL_KEYS[0]] == g.filter_type) & (rows[CELL_KEYS[1]] == g.bucket)]
    return float(cell["qps"].max()) if len(cell) else math.nan
