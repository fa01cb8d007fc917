"""The report's sections on trust: measurement noise and load, invalid rows, filter
violations, short answers, and the last lines of failed points' tracebacks (Markdown)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from fanns_bench.report.quality import (
    ANSWERED,
    NOT_RECORDED,
    flag,
    grouped_reasons,
    noise_lines,
    optional,
    recorded,
    traceback_tail,
)
from fanns_bench.report.render import fmt_number, fmt_recall, markdown_table
from fanns_bench.results.schema import STATUS_INVALID

PLACE = ["dataset", "filter_type", "selectivity_bucket", "k", "threads", "method"]


def noise_markdown(frame: pd.DataFrame) -> str:
    """How many points are noisy and why, and the machine's load, overall and per method."""
    lines = [f"- {line}" for line in noise_lines(frame)]
    ok = frame[frame["status"] == "ok"]
    if recorded(ok, "noisy"):
        ok = ok.assign(noisy=flag(ok, "noisy"))
        rows = []
        for method, points in ok.groupby("method", sort=True):
            noisy = points[points["noisy"]]
            reasons = "; ".join(f"{n} × {r}" for r, n in grouped_reasons(optional(noisy, "noisy_reason")))
            load = optional(points, "load_avg").astype(float)
            rows.append([str(method), str(len(points)), str(len(noisy)), fmt_number(load.max()), reasons])
        headers = ["method", "ok points", "noisy", "max load", "why noisy"]
        lines += ["", markdown_table(headers, rows, {1, 2, 3})]
    lines += [
        "",
        "A noisy point's QPS may not repeat: its repetitions disagree, its CPU time is well below "
        "its wall time at one thread, or the machine's load was above its CPU count. Figures draw "
        "each point's spread (slowest to fastest repetition); noisy points are drawn hollow.",
    ]
    return "\n".join(lines) + "\n"


def answers_markdown(frame: pd.DataFrame) -> str:
    """Invalid rows, filter violation rates of approximate-filter methods, short answers."""
    answered = frame[frame["status"].isin(ANSWERED)]
    parts = ["### Invalid rows (ids outside the filter from a method that filters exactly)", ""]
    invalid = answered[answered["status"] == STATUS_INVALID]
    if invalid.empty:
        parts.append("None.")
    else:
        rows = [
            [*_place(group.iloc[0]), str(len(group)), _percent(optional(group, "violation_rate").max()),
             str(group["reason"].dropna().iloc[0] if group["reason"].notna().any() else "")]
            for _, group in invalid.groupby(PLACE, dropna=False, sort=True)
        ]  # fmt: skip
        headers = [*_PLACE_HEADERS, "rows", "max share outside filter", "reason"]
        parts.append(markdown_table(headers, rows, {3, 4, 5, 6, 7}))
    parts += ["", "### Filter violations of approximate-filter methods", ""]
    ok = answered[answered["status"] == "ok"]
    if not recorded(ok, "violation_rate"):
        parts.append(f"Share of returned ids outside the filter: {NOT_RECORDED} in these results.")
    else:
        violating = ok[ok["violation_rate"].astype(float) > 0]
        rows = [
            [str(method), str(filter_type), f"{len(group)} of {len(ok[ok['method'] == method])}",
             _percent(group["violation_rate"].median()), _percent(group["violation_rate"].max())]
            for (method, filter_type), group in violating.groupby(["method", "filter_type"], sort=True)
        ]  # fmt: skip
        headers = ["method", "filter", "points with violations", "median share", "max share"]
        parts.append(
            markdown_table(headers, rows, {2, 3, 4})
            if rows
            else "No ok point returned ids outside its filter."
        )
    parts += ["", "### Short answers (fewer than k ids although at least k items match)", ""]
    if not recorded(answered, "short_queries"):
        parts.append(f"Short answers: {NOT_RECORDED} in these results.")
    else:
        short = answered[optional(answered, "short_queries").astype(float) > 0]
        rows = [
            [*_place(group.iloc[0]), str(len(group)),
             f"{int(group['short_queries'].sum())} of {int(group['n_queries'].sum())}",
             fmt_number(optional(group, "empty_slots").sum(min_count=1)), fmt_recall(group["recall"].max())]
            for _, group in short.groupby(PLACE, dropna=False, sort=True)
        ]  # fmt: skip
        headers = [*_PLACE_HEADERS, "points", "short queries", "empty slots", "max recall"]
        parts.append(
            markdown_table(headers, rows, {3, 4, 5, 6, 7, 8, 9}) if rows else "No query got a short answer."
        )
    return "\n".join(parts) + "\n"


def tracebacks_markdown(frame: pd.DataFrame, results_dir: Path) -> str:
    """For each (method, filter type, reason) of failed rows: the last lines of one failed
    point's traceback file, when the runner kept it."""
    failed = frame[frame["status"] == "failed"].fillna({"reason": "no reason recorded"})
    if failed.empty:
        return ""
    parts = ["### Last lines of the failed points' tracebacks", ""]
    for (method, filter_type, reason), group in failed.groupby(
        ["method", "filter_type", "reason"], sort=True
    ):
        tails = ((key, traceback_tail(results_dir, key)) for key in group["key"])
        key, tail = next(((k, t) for k, t in tails if t), (None, None))
        title = f"- {method} on {filter_type} ({len(group)} rows): {reason}"
        if tail is None:
            parts.append(f"{title} — no traceback file kept")
            continue
        parts += [f"{title} (`errors/{key}.txt`):", "", "  ```", *(f"  {line}" for line in tail), "  ```"]
    return "\n".join(parts) + "\n"


_PLACE_HEADERS = ["dataset", "method", "filter", "bucket", "k", "threads"]


def _place(row: pd.Series) -> list[str]:
    bucket = row["selectivity_bucket"]
    where = [row["dataset"], row["method"], row["filter_type"]]
    return [*map(str, where), "all" if pd.isna(bucket) else f"{bucket:g}", str(row["k"]), str(row["threads"])]


def _percent(value: float) -> str:
    return "—" if pd.isna(value) else f"{value:.2%}"
