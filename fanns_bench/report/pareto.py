"""Recall-QPS Pareto frontiers and "QPS at recall >= r", per method curve.

A point is on the frontier when no other point has both recall >= and QPS >= it; of exact
duplicates one is kept. Only usable rows count (status ok, finite recall, positive QPS).
Groups are `SERIES_KEYS`: (dataset, filter_type, selectivity_bucket, k, threads, method).
Thread count is part of the key because QPS at different thread counts is not comparable.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fanns_bench.report.frame import SERIES_KEYS, ok_points

RECALL_TOLERANCE = 1e-9
"""`recall >= r` is tested as `recall >= r - RECALL_TOLERANCE` (floating point round-off)."""


def pareto_frontier(points: pd.DataFrame, recall_column: str = "recall") -> pd.DataFrame:
    """The frontier rows of one curve (all columns kept), by increasing recall."""
    points = ok_points(points)
    order = np.lexsort((-points["qps"].to_numpy(float), -points[recall_column].to_numpy(float)))
    best_qps, kept = -np.inf, []
    for position in order:  # by decreasing recall, then decreasing QPS
        qps = points["qps"].iat[position]
        if qps > best_qps:
            kept.append(position)
            best_qps = qps
    return points.iloc[kept[::-1]]


def pareto_frontiers(
    frame: pd.DataFrame, recall_column: str = "recall", keys: list[str] = SERIES_KEYS
) -> pd.DataFrame:
    """Frontier rows of every group of `keys`, with their build and search params."""
    points = ok_points(frame)
    if points.empty:
        return points
    parts = [
        pareto_frontier(group, recall_column) for _, group in points.groupby(keys, dropna=False, sort=True)
    ]
    return pd.concat(parts)


def qps_at_recall(
    frame: pd.DataFrame, recall: float, recall_column: str = "recall", keys: list[str] = SERIES_KEYS
) -> pd.DataFrame:
    """Best QPS among points with recall >= `recall`, per group; NaN where none reaches it.

    Returns the `keys` columns plus `qps_at_recall`, one row per group with usable points.
    """
    points = ok_points(frame)
    reached = points[recall_column] >= recall - RECALL_TOLERANCE
    points = points.assign(qps_at_recall=points["qps"].where(reached))
    return points.groupby(keys, dropna=False, sort=True)["qps_at_recall"].max().reset_index()


def best_at_recall(
    frame: pd.DataFrame, recall: float, recall_column: str = "recall", keys: list[str] = SERIES_KEYS
) -> pd.DataFrame:
    """The row giving `qps_at_recall` in each group that reaches `recall` (groups that do not
    reach it are absent)."""
    points = ok_points(frame)
    points = points[points[recall_column] >= recall - RECALL_TOLERANCE]
    return _top_rows(points, ["qps", recall_column], keys)


def max_recall_rows(
    frame: pd.DataFrame, recall_column: str = "recall", keys: list[str] = SERIES_KEYS
) -> pd.DataFrame:
    """The row with the highest recall in each group (the faster one on a tie)."""
    return _top_rows(ok_points(frame), [recall_column, "qps"], keys)


def _top_rows(points: pd.DataFrame, by: list[str], keys: list[str]) -> pd.DataFrame:
    ranked = points.sort_values(by, ascending=False, kind="stable")
    return ranked.groupby(keys, dropna=False, sort=True).head(1)
