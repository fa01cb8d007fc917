"""What a reader must know before trusting a number: measurement noise and machine load,
points by status, filter violations and short answers, and failed points' tracebacks.

Shared by the run's closing summary and the report. Columns written by newer runners
(`noisy`, `load_avg`, `violation_rate`, `short_queries`, ...) count as "not recorded" where
a results folder lacks them, never as zero.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from fanns_bench.results.attempts import error_path
from fanns_bench.results.schema import MEASURED, STATUS_FAILED, STATUS_INVALID, STATUS_OK, STATUS_UNSUPPORTED

STATUSES = (STATUS_OK, STATUS_FAILED, STATUS_INVALID, STATUS_UNSUPPORTED)
"""Every row status, in the order tables show them (`invalid`: ids outside the filter from a
method that does not declare approximate filtering)."""
ANSWERED = MEASURED
"""Statuses whose rows hold a measured answer (recall, violations, short answers)."""
NOT_RECORDED = "not recorded"
TRACEBACK_LINES = 6


def optional(frame: pd.DataFrame, column: str) -> pd.Series:
    """`frame[column]`, or an all-missing column where these results do not record it."""
    if column in frame:
        return frame[column]
    return pd.Series(np.nan, index=frame.index, dtype=float)


def flag(frame: pd.DataFrame, column: str) -> pd.Series:
    """A boolean column of `frame` with missing values (and a missing column) as False."""
    return optional(frame, column).astype("boolean").fillna(False).astype(bool)


def recorded(frame: pd.DataFrame, column: str) -> bool:
    """True when at least one row of `frame` records `column`."""
    return column in frame and bool(frame[column].notna().any())


def status_counts(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows per method and status (every status in `STATUSES` a column, others appended)."""
    counts = frame.pivot_table(index="method", columns="status", values="key", aggfunc="size", fill_value=0)
    extra = [s for s in counts.columns if s not in STATUSES]
    return counts.reindex(columns=[*STATUSES, *extra], fill_value=0).astype(int)


def answer_quality(frame: pd.DataFrame) -> pd.DataFrame:
    """Per method, over its answered (ok / invalid) points: `short_queries` and `empty_slots`
    summed, `queries` answered, the largest `violation_rate`, and its `noisy` ok points; NaN
    where the results do not record the column (or the method has no such point)."""
    answered = frame[frame["status"].isin(ANSWERED)]
    methods = sorted(frame["method"].unique())
    table = pd.DataFrame(index=pd.Index(methods, name="method"))
    grouped = answered.groupby("method")
    table["queries"] = grouped["n_queries"].sum() if "n_queries" in answered else np.nan
    for column in ("short_queries", "empty_slots"):
        values = optional(answered, column).astype(float)
        table[column] = values.groupby(answered["method"]).sum(min_count=1)
    ok = answered[answered["status"] == "ok"]
    table["noisy"] = optional(ok, "noisy").astype(float).groupby(ok["method"]).sum(min_count=1)
    violations = optional(answered, "violation_rate").astype(float)
    table["violation_rate"] = violations.groupby(answered["method"]).max()
    return table


def noise_lines(frame: pd.DataFrame) -> list[str]:
    """How many ok points are noisy and why (reasons grouped), and the machine's load
    during the points, as sentences."""
    ok = frame[frame["status"] == "ok"]
    if not recorded(ok, "noisy"):
        lines = [f"noisy points: {NOT_RECORDED} (these results predate the noise check)"]
    else:
        noisy = ok[flag(ok, "noisy")]
        text = f"noisy points: {len(noisy)} of {len(ok)} ok points"
        if len(noisy):
            reasons = grouped_reasons(optional(noisy, "noisy_reason"))
            text += " (" + "; ".join(f"{count} × {reason}" for reason, count in reasons) + ")"
        lines = [text + "; a noisy point's QPS may not repeat"]
    lines.append(load_line(ok))
    return lines


def grouped_reasons(reasons: pd.Series) -> list[tuple[str, int]]:
    """Each distinct reason (several per row joined with "; ") with its count, most common
    first; the measured value (a reason's first number) is masked and the threshold kept
    ("load average 3.1 > 2 cores" -> "load average … > 2 cores"), so one kind of reason
    groups across points and still says what it was tested against."""
    counts: Counter[str] = Counter()
    for text in reasons.dropna():
        for reason in str(text).split(";"):
            if reason.strip():
                counts[re.sub(r"\d+(?:\.\d+)?", "…", reason.strip(), count=1)] += 1
    missing = int(reasons.isna().sum())
    if missing:
        counts["no reason recorded"] += missing
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def load_line(frame: pd.DataFrame) -> str:
    """The 1-minute load average over the points (median and max) against the CPU count."""
    if not recorded(frame, "load_avg"):
        return f"machine load: {NOT_RECORDED}"
    load = frame["load_avg"].astype(float).dropna()
    cpus = sorted({int(c) for c in optional(frame, "cpu_count").dropna()})
    on = f" on {'/'.join(map(str, cpus))} CPUs" if cpus else ""
    busy = int((load > max(cpus)).sum()) if cpus else 0
    above = f"; {busy} point{'' if busy == 1 else 's'} ran with the load above the CPU count" if busy else ""
    return (
        f"machine load (1-min load average during a point): median {load.median():.2g}, "
        f"max {load.max():.2g}{on}{above}"
    )


def traceback_tail(results_dir: Path, key: str, lines: int = TRACEBACK_LINES) -> list[str] | None:
    """The last `lines` non-empty lines of a failed point's traceback file (None when absent)."""
    try:
        text = error_path(results_dir, key).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    return [line for line in text.splitlines() if line.strip()][-lines:]


REPETITION_SECONDS = {"qps": "batch_seconds", "qps_given_filter": "search_seconds"}
"""The per-repetition wall times behind each throughput (one batch pass each)."""


def with_qps_bounds(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with `qps_low` / `qps_high`: the slowest and fastest repetition's rate of the
    throughput in `qps` (`frame.attrs["qps"]` names which, see `choose_qps`). End to end they
    are `qps_min` / `qps_best` where recorded, else n_queries over the longest / shortest
    repetition; where nothing is recorded both equal `qps` (no spread known)."""
    if "qps_low" in frame:
        return frame
    chosen = frame.attrs.get("qps", "qps")
    seconds = optional(frame, REPETITION_SECONDS.get(chosen, "batch_seconds"))
    counts = optional(frame, "n_queries").astype(float)
    longest = pd.Series([_extreme(s, max) for s in seconds], index=frame.index, dtype=float)
    shortest = pd.Series([_extreme(s, min) for s in seconds], index=frame.index, dtype=float)
    low, high = counts / longest, counts / shortest
    if chosen == "qps":
        low = optional(frame, "qps_min").astype(float).fillna(low)
        high = optional(frame, "qps_best").astype(float).fillna(high)
    qps = frame["qps"].astype(float)
    bounded = frame.assign(qps_low=low.fillna(qps).clip(upper=qps), qps_high=high.fillna(qps).clip(lower=qps))
    bounded.attrs = dict(frame.attrs)
    return bounded


def _extreme(values: object, pick) -> float:
    try:
        finite = [float(v) for v in values if v is not None and float(v) > 0]  # type: ignore[union-attr]
    except TypeError:
        return math.nan
    return pick(finite) if finite else math.nan


def single_threaded(rows: pd.DataFrame) -> list[str]:
    """The methods of `rows` whose class declared `threading = "single"` when they ran (they
    search with one thread whatever the query thread count), from the rows' `method_threading`
    column; rows that do not record it (results of older versions) name none."""
    if "method_threading" not in rows:
        return []
    return sorted(set(rows.loc[rows["method_threading"] == "single", "method"]))


def single_thread_note(rows: pd.DataFrame, threads: int) -> str:
    """A sentence naming the methods of `rows` that ignore `threads` (> 1), or ""."""
    ignoring = single_threaded(rows) if threads > 1 else []
    if not ignoring:
        return ""
    return (
        f"Note: {', '.join(ignoring)} search with one thread whatever the query thread count "
        f"(their class declares threading = single), so their QPS here is not at {threads} threads."
    )
