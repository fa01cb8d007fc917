"""The router graded on a held-out draw: per cell against the best single method there, and
over the whole mixed workload against every single method.

A cell is a (filter type, selectivity bucket). Per cell: the router's fastest row reaching the
target recall beside the fastest single-method row reaching it (`best_at_recall`). Over the
workload: each method's throughput when it answers every cell's queries with its fastest
configuration reaching the recall there, total queries / total seconds; a method that does
not reach the recall in some cell (or does not answer it) has no total and is listed apart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from fanns_bench.recommend.choose import CELL_KEYS, ROUTER, is_router
from fanns_bench.report.frame import ok_points
from fanns_bench.report.pareto import best_at_recall


@dataclass(frozen=True)
class CellGrade:
    """The router beside the best single method in one cell (NaN QPS: does not reach)."""

    filter_type: str
    bucket: float
    router_qps: float
    best_method: str
    best_qps: float

    @property
    def ratio(self) -> float:
        return self.router_qps / self.best_qps


def grade_cells(frame: pd.DataFrame, recall: float) -> list[CellGrade]:
    """One grade per cell where the router or a single method has a usable row."""
    points = ok_points(frame)
    router = points[is_router(points)]
    reached = best_at_recall(points, recall)
    grades = []
    for (filter_type, bucket), cell in points.groupby(CELL_KEYS, sort=True):
        best = reached.loc[reached.index.intersection(cell.index)]
        own, single = best[is_router(best)], best[~is_router(best)].sort_values("qps", ascending=False)
        grades.append(
            CellGrade(
                str(filter_type),
                float(bucket),
                float(own["qps"].max()) if len(own) else math.nan,
                str(single["method"].iloc[0]) if len(single) else "",
                float(single["qps"].iloc[0]) if len(single) else math.nan,
            )
        )
    return grades if len(router) else []


def workload_throughput(frame: pd.DataFrame, recall: float) -> tuple[dict[str, float], dict[str, int]]:
    """(method -> queries per second over every cell, method -> cells it misses) where a cell
    is missed when the method has no row reaching `recall` there."""
    points = ok_points(frame)
    cells = points.groupby(CELL_KEYS).ngroups
    reached = best_at_recall(points, recall)
    totals, missing = {}, {}
    for method, rows in reached.groupby("method", sort=True):
        if len(rows) < cells:
            missing[str(method)] = cells - len(rows)
            continue
        seconds = (rows["n_queries"].astype(float) / rows["qps"].astype(float)).sum()
        totals[str(method)] = float(rows["n_queries"].sum() / seconds)
    for method in sorted(set(points["method"]) - set(reached["method"])):
        missing[str(method)] = cells
    return totals, missing


def grade_lines(frame: pd.DataFrame, recall: float, band: float = 0.1) -> list[str]:
    """The grades as text: per cell, the counts against the targets, and the workload totals."""
    grades = grade_cells(frame, recall)
    if not grades:
        return [f"no {ROUTER} rows to grade"]
    lines = [f"router against the best single method per cell (recall >= {recall:g}):"]
    for g in grades:
        router = "no row reaching the recall" if math.isnan(g.router_qps) else f"{g.router_qps:,.0f} QPS"
        best = "none reaches" if not g.best_method else f"{g.best_method} {g.best_qps:,.0f} QPS"
        ratio = "" if math.isnan(g.router_qps) or not g.best_method else f": {g.ratio:.2f}x"
        lines.append(f"  {g.filter_type} bucket {g.bucket:g}: router {router}; best single {best}{ratio}")
    reachable = [g for g in grades if g.best_method]
    lost = [g for g in reachable if math.isnan(g.router_qps)]
    close = [g for g in reachable if not math.isnan(g.router_qps) and g.ratio >= 1 - band]
    lines.append(
        f"cells a single method reaches: {len(reachable)}; the router reaches {len(reachable) - len(lost)}, "
        f"within {band:.0%} of the best in {len(close)}"
    )
    totals, missing = workload_throughput(frame, recall)
    ranked = sorted(totals.items(), key=lambda item: -item[1])
    lines.append(
        "whole workload (each method's fastest configuration reaching the recall per cell): "
        + ("; ".join(f"{m} {q:,.0f} QPS" for m, q in ranked) or "no method reaches the recall in every cell")
    )
    if missing:
        lines.append(
            "not reaching the recall in every cell: "
            + ", ".join(f"{m} ({n} cell{'' if n == 1 else 's'})" for m, n in sorted(missing.items()))
        )
    return lines
