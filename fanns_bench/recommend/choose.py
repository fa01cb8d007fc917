"""Per filter type and selectivity bucket: the configuration that reaches the target recall
fastest within the user's limits, its runner-up, and whether the margin beats the noise.

Each method contributes its fastest row at recall >= target (`best_at_recall`, any of its
build and search configurations); the fastest of those wins and the next method is the
runner-up. The margin counts only when the winner's slowest repetition is faster than the
runner-up's fastest (`qps_low` / `qps_high`: min-max of the repetitions, `report/quality.py`;
wider than their IQR, so a margin beyond it is beyond the IQR too) and neither row is flagged
`noisy` (runner/noise.py) and both have at least two repetitions; else it is within the noise:
a tie (`Choice.noise`). Rows of three or more fresh processes each (a runoff, `runoff.py`) are
judged by their processes' QPS instead: the min-max of 15 repetitions over 5 processes spans
every process's draw, so it would call every margin a tie. Rows measured side by side in paired
rounds (`paired.py`: every finalist of the cell once per round, `qps_rounds`) are judged on the
rounds as pairs: a round's host is both rows' host, so the per-round ratio is the sample
(one-sided Wilcoxon signed-rank test on the log ratios), not each row's rounds as independent draws.

A row "reaches" the target when its recall's lower bound does: recall - z x the standard error
of its recall (`recall_lower_bound`: per-query recalls over the queries or, where they share a
few predicates, over the distinct predicates; z = `recall_z`, 0: the recall itself). A policy
chosen on one query draw is applied to another, where a configuration just above the target
can fall below it (on the laptop sample faiss_hnsw efSearch 16 had recall 0.93 on EM 0.5's
two predicates and 0.84 on the next draw's); z > 0 keeps a margin that scales with how much
the recall varies between draws. A bucket where no configuration's bound reaches the target falls back to the
fastest whose recall does (marked), then to the highest recall (marked as below the target).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import mannwhitneyu, wilcoxon

from fanns_bench.recommend.policy import params_text
from fanns_bench.report.frame import ok_points
from fanns_bench.report.pareto import best_at_recall, max_recall_rows
from fanns_bench.report.quality import optional

CELL_KEYS = ["filter_type", "selectivity_bucket"]
"""One decision: a filter type and a selectivity bucket (of one dataset, k and thread count)."""

MIN_PROCESSES = 3
"""Processes per row from which a margin is judged on the processes' QPS (`Choice.noise`)."""

MAX_P = 0.05
"""One-sided p below which the best is faster than the runner-up: Mann-Whitney over their
processes (with 5 each, at least 21 of the 25 pairs in its favour), Wilcoxon signed-rank over
their paired rounds (with 15 rounds: its rounds' ranks sum to at least 90 of the 120)."""

ROUTER = "router"
"""The router's registry name: its rows are graded (evaluate.py), never recommended."""


def registry_names(frame: pd.DataFrame) -> pd.Series:
    """Each row's method as the registry names it (`method_name`), which is what a policy's
    routes and the router's counters spell; the config key where the rows predate the column."""
    return frame["method_name"].fillna(frame["method"]) if "method_name" in frame else frame["method"]


def is_router(frame: pd.DataFrame) -> pd.Series:
    """Mask of the router's rows (by method key, or by registry name where recorded)."""
    return (frame["method"] == ROUTER) | (registry_names(frame) == ROUTER)


@dataclass(frozen=True)
class Limits:
    """What a chosen configuration may cost; `None`: no limit."""

    memory_bytes: float | None = None
    build_seconds: float | None = None

    def over(self, frame: pd.DataFrame) -> pd.Series:
        """Mask of the rows of `frame` above a limit. Memory is the larger of `index_bytes`
        and `search_peak_rss_bytes` (what the method says it holds, what the process held);
        a row that records neither is not excluded."""
        over = pd.Series(False, index=frame.index)
        if self.memory_bytes is not None:
            memory = row_memory(frame)
            over |= memory.fillna(0) > self.memory_bytes
        if self.build_seconds is not None:
            over |= optional(frame, "build_seconds").astype(float).fillna(0) > self.build_seconds
        return over

    def describe(self) -> str:
        parts = []
        if self.memory_bytes is not None:
            parts.append(f"memory <= {self.memory_bytes / 1e9:g} GB")
        if self.build_seconds is not None:
            parts.append(f"build <= {self.build_seconds:g} s")
        return ", ".join(parts) or "none"


def row_memory(frame: pd.DataFrame) -> pd.Series:
    """Bytes a row's configuration needs: max(index_bytes, search_peak_rss_bytes)."""
    sizes = [optional(frame, c).astype(float) for c in ("index_bytes", "search_peak_rss_bytes")]
    return pd.concat(sizes, axis=1).max(axis=1, skipna=True)


@dataclass(frozen=True)
class Candidate:
    """One configuration's measurement in one bucket."""

    method: str  # the results' method key
    name: str  # the registry name it resolved to (the key where the rows predate method_name)
    build: dict[str, Any]
    search: dict[str, Any]
    recall: float
    qps: float
    qps_low: float
    qps_high: float
    memory_bytes: float
    build_seconds: float
    repetitions: int = 0  # timed repetitions behind qps_low/qps_high (0: not recorded)
    noisy_reason: str = ""  # why the row is flagged noisy ("" when not flagged; reasons joined by "; ")
    recall_low: float = math.nan  # the recall's lower bound the choice used
    processes: tuple[float, ...] = ()  # each fresh process's QPS (`qps_processes`; () with one)
    rounds: tuple[float, ...] = ()  # QPS per paired round, by round number (`qps_rounds`; NaN: none)

    @classmethod
    def of(cls, row: pd.Series) -> Candidate:
        return cls(
            str(row["method"]),
            str(row["method_name"]) if isinstance(row.get("method_name"), str) else str(row["method"]),
            json.loads(row["build_params"] or "{}"),
            json.loads(row["search_params"] or "{}"),
            float(row["recall"]),
            float(row["qps"]),
            float(row.get("qps_low", row["qps"])),
            float(row.get("qps_high", row["qps"])),
            _number(row.get("memory_bytes")),
            _number(row.get("build_seconds")),
            _count(row.get("batch_seconds")),
            _noisy_reason(row),
            _number(row.get("recall_low", row["recall"])),
            _rates(row.get("qps_processes")),
            _round_rates(row.get("qps_rounds")),
        )

    @property
    def key(self) -> tuple[str, str, str]:
        """Method, build and search parameters: equal keys are the same configuration."""
        return self.method, params_text(self.build), params_text(self.search)


@dataclass(frozen=True)
class Choice:
    """The decision for one bucket of one filter type."""

    filter_type: str
    bucket: float
    best: Candidate
    runner_up: Candidate | None
    reached: bool  # the best reaches the target recall
    margin_kept: bool = True  # its recall's lower bound reaches it too (see recall_z)
    excluded: tuple[str, ...] = ()  # methods reaching the target faster (or at all), above a limit
    shapes: tuple[str, ...] = ()  # the predicate forms of the bucket's queries

    @property
    def tied(self) -> bool:
        """True when a runner-up is within the noise of the best (`noise` says why)."""
        return bool(self.noise)

    @property
    def noise(self) -> str:
        """Why the margin over the runner-up is within the noise; "" when it is beyond it
        (or there is no runner-up). Rows measured side by side in paired rounds are judged on
        the rounds both have: beyond the noise when a one-sided Wilcoxon signed-rank test on
        the per-round log ratios finds the best faster at p < `MAX_P`. Rows measured in
        `MIN_PROCESSES` or more fresh processes each are judged by their processes' QPS (a
        process's level is its own draw, so the processes are the samples): beyond the noise
        when a one-sided Mann-Whitney test finds the best's processes faster at p < `MAX_P`.
        Otherwise by the repetitions."""
        best, other = self.best, self.runner_up
        if other is None:
            return ""
        if best.rounds and other.rounds:
            return _paired_noise(best.rounds, other.rounds)
        if min(len(best.processes), len(other.processes)) >= MIN_PROCESSES:
            p = mannwhitneyu(best.processes, other.processes, alternative="greater", method="exact").pvalue
            n, m = len(best.processes), len(other.processes)
            return "" if p < MAX_P else f"processes' QPS not apart: Mann-Whitney p {p:.2f} over {n} and {m}"
        if other.qps_high >= best.qps_low:
            return "QPS intervals overlap"
        flagged = [
            f"{c.method} flagged noisy: {c.noisy_reason.split('; ')[0]}"
            for c in (best, other)
            if c.noisy_reason
        ]
        if flagged:
            return "; ".join(flagged)
        if min(best.repetitions, other.repetitions) == 1:
            return "one repetition: no spread measured"
        return ""

    @property
    def margin(self) -> float:
        """Best QPS / runner-up QPS (NaN without a runner-up)."""
        return self.best.qps / self.runner_up.qps if self.runner_up else math.nan


def choose(frame: pd.DataFrame, recall: float, limits: Limits, recall_z: float = 0.0) -> list[Choice]:
    """One `Choice` per (filter type, bucket) of `frame` that has a usable row within the
    limits (the router's own rows left out). `frame` holds one dataset, k and thread count,
    with `qps_low` / `qps_high`; `recall_z`: see the module docstring."""
    points = ok_points(frame[~is_router(frame)])
    points = points.assign(memory_bytes=row_memory(points), recall_low=recall_lower_bound(points, recall_z))
    over = limits.over(points)
    choices = []
    for (filter_type, bucket), cell in points.groupby(CELL_KEYS, sort=True):
        within, beyond = cell[~over[cell.index]], cell[over[cell.index]]
        if within.empty:
            continue
        ranked, margin_kept, reached = ranked_cell(within, recall)
        candidates = [Candidate.of(row) for _, row in ranked.head(2).iterrows()]
        faster = best_at_recall(beyond, recall, "recall_low" if margin_kept else "recall")
        if reached:
            faster = faster[faster["qps"] > candidates[0].qps]
        excluded = sorted(set(faster["method"]))
        choices.append(
            Choice(
                str(filter_type),
                float(bucket),
                candidates[0],
                candidates[1] if len(candidates) > 1 else None,
                reached,
                margin_kept or not reached,
                tuple(excluded),
                _shapes(cell),
            )
        )
    return choices


def ranked_cell(cell: pd.DataFrame, recall: float) -> tuple[pd.DataFrame, bool, bool]:
    """(each method's fastest row reaching `recall` by its `recall_low`, fastest first;
    whether the bound reached it; whether the recall did). Where no bound reaches it, the
    rows whose recall does; where none does, each method's highest-recall row."""
    ranked = _ranked(best_at_recall(cell, recall, "recall_low"), ["qps"])
    if not ranked.empty:
        return ranked, True, True
    ranked = _ranked(best_at_recall(cell, recall), ["qps"])
    if not ranked.empty:
        return ranked, False, True
    return _ranked(max_recall_rows(cell), ["recall", "qps"]), False, False


def recall_lower_bound(points: pd.DataFrame, z: float) -> pd.Series:
    """recall - z x the standard error of the row's recall (its recall where z is 0 or fewer
    than two per-query values are recorded). The error is the per-query recalls' standard
    deviation over the square root of the independent draws behind them: the queries, or the
    distinct predicates where there are two or more of them (`distinct_predicates`), since
    queries sharing a predicate vary together and another draw mixes the predicates otherwise
    (one distinct predicate: the bucket's only one, the same in every draw)."""
    recall = points["recall"].astype(float)
    if z <= 0:
        return recall
    distinct = optional(points, "distinct_predicates").astype(float)
    errors = [
        _standard_error(v, d) for v, d in zip(optional(points, "recall_per_query"), distinct, strict=True)
    ]
    return recall - z * pd.Series(errors, index=points.index, dtype=float).fillna(0.0)


def _standard_error(values: Any, distinct: float) -> float:
    if not isinstance(values, list | tuple | np.ndarray) or len(values) < 2:
        return math.nan
    array = np.asarray(values, dtype=float)
    draws = len(array) if math.isnan(distinct) or distinct < 2 else min(len(array), distinct)
    return float(array.std(ddof=1) / math.sqrt(draws))


def _rates(values: Any) -> tuple[float, ...]:
    if not isinstance(values, list | tuple | np.ndarray):
        return ()
    return tuple(float(v) for v in values if v is not None and math.isfinite(float(v)))


def _round_rates(values: Any) -> tuple[float, ...]:
    if not isinstance(values, list | tuple | np.ndarray):
        return ()
    return tuple(math.nan if v is None else float(v) for v in values)


def _paired_noise(best: tuple[float, ...], other: tuple[float, ...]) -> str:
    """`Choice.noise` of two rows' paired rounds (QPS by round number): "" when the best is
    faster round for round (one-sided Wilcoxon signed-rank on the log ratios, p < `MAX_P`)."""
    pairs = [(b, o) for b, o in zip(best, other, strict=False) if b > 0 and o > 0]  # (NaN > 0 is False)
    differences = np.log([b for b, _ in pairs]) - np.log([o for _, o in pairs])
    if not np.any(differences):
        return f"paired rounds not apart: no round of {len(pairs)} differs"
    p = float(wilcoxon(differences, alternative="greater").pvalue)
    if p < MAX_P:
        return ""
    return f"paired rounds not apart: Wilcoxon p {p:.2f} over {len(pairs)} rounds"


def _count(values: Any) -> int:
    return len(values) if isinstance(values, list | tuple | np.ndarray) else 0


def _noisy_reason(row: pd.Series) -> str:
    flagged = row.get("noisy")
    if flagged is None or pd.isna(flagged) or not bool(flagged):
        return ""
    reason = row.get("noisy_reason")
    return str(reason) if isinstance(reason, str) and reason else "no reason recorded"


def _ranked(rows: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    return rows.sort_values([*by, "method"], ascending=[False] * len(by) + [True], kind="stable")


def _shapes(cell: pd.DataFrame) -> tuple[str, ...]:
    found: set[str] = set()
    for shapes in optional(cell, "filter_shapes"):
        if isinstance(shapes, list | tuple | np.ndarray):
            found.update(str(s) for s in shapes)
    return tuple(sorted(found))


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan
