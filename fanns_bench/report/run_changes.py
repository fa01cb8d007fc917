"""What changed in the reported results between two runs of the same experiment: leaderboard
rank changes outside ties, and the seed paper's claim verdicts (for `fanns-bench compare`).

A method's leaderboard entry is its best QPS at a recall level (the leaderboard's
`best_at_recall`), with that point's interval over its timed repetitions, [`qps_min`,
`qps_best`]. Two methods whose intervals overlap are tied, so only an order that is strict in
both runs and reversed between them counts as a rank change; a method reaching the recall in one
run only is a change too.
"""

from __future__ import annotations

import math

import pandas as pd

from fanns_bench.report.frame import SERIES_KEYS
from fanns_bench.report.pareto import best_at_recall
from fanns_bench.report.quality import with_qps_bounds
from fanns_bench.report.render import fmt_number
from fanns_bench.report.tables import section_title


def _missing(value: object) -> bool:
    return isinstance(value, float) and math.isnan(value)


def series_key(values: tuple) -> tuple:
    """A series' key values, NaN (the whole-workload bucket) as None so keys compare equal."""
    return tuple(None if _missing(v) else v for v in values)


def entries(frame: pd.DataFrame, recall: float) -> dict[tuple, pd.Series]:
    """Each series' leaderboard entry at `recall` (its best-QPS point) with its interval."""
    best = with_qps_bounds(best_at_recall(frame, recall))
    return {series_key(tuple(row[SERIES_KEYS])): row for _, row in best.iterrows()}


def measured_series(frame: pd.DataFrame) -> set[tuple]:
    """The series with at least one ok point."""
    ok = frame[frame["status"] == "ok"][SERIES_KEYS]
    return {series_key(values) for values in ok.itertuples(index=False)}


def _order(a: pd.Series, b: pd.Series) -> int:
    """1 when a's interval lies above b's, -1 below, 0 when they overlap (a tie)."""
    if a["qps_low"] > b["qps_high"]:
        return 1
    if b["qps_low"] > a["qps_high"]:
        return -1
    return 0


def _entry_text(entry: pd.Series) -> str:
    low, high = fmt_number(entry["qps_low"]), fmt_number(entry["qps_high"])
    return f"{fmt_number(entry['qps'])} [{low}-{high}]"


def rank_changes(a: pd.DataFrame, b: pd.DataFrame, recall: float) -> tuple[int, list[str]]:
    """(sections compared, one line per change) of the leaderboards at `recall` of two runs.
    Only methods with ok points in a section in both runs are compared there."""
    entries_a, entries_b = entries(a, recall), entries(b, recall)
    both = sorted(measured_series(a) & measured_series(b), key=str)
    sections: dict[tuple, list[str]] = {}
    for series in both:
        sections.setdefault(series[:-1], []).append(series[-1])
    changes = []
    for section, methods in sections.items():
        title = section_title(section)
        reached_a = [m for m in methods if (*section, m) in entries_a]
        reached_b = [m for m in methods if (*section, m) in entries_b]
        for method in sorted(set(reached_a) ^ set(reached_b)):
            run = "A" if method in reached_a else "B"
            changes.append(f"{title}: {method} reaches recall {recall:g} in run {run} only")
        common = sorted(set(reached_a) & set(reached_b))
        for i, first in enumerate(common):
            for second in common[i + 1 :]:
                in_a = [entries_a[(*section, m)] for m in (first, second)]
                in_b = [entries_b[(*section, m)] for m in (first, second)]
                order_a, order_b = _order(*in_a), _order(*in_b)
                if order_a * order_b == -1:
                    pick = slice(None) if order_a > 0 else slice(None, None, -1)
                    above, below = [first, second][pick]
                    in_a, in_b = in_a[pick], in_b[pick]
                    changes.append(
                        f"{title}: {above} above {below} in A ({_entry_text(in_a[0])} vs "
                        f"{_entry_text(in_a[1])} QPS [slowest-fastest repetition]), below in B "
                        f"({_entry_text(in_b[0])} vs {_entry_text(in_b[1])})"
                    )
    return len(sections), changes


def covers_paper(frame: pd.DataFrame) -> bool:
    """Whether `frame` holds rows of the seed paper's experiments (those its claims cover)."""
    from fanns_bench.report.claims import load_claims
    from fanns_bench.report.paper_figures import paper_figures

    return any(len(figure.rows(frame)) for figure in paper_figures(load_claims()))


def verdict_changes(a: pd.DataFrame, b: pd.DataFrame) -> tuple[int, list[str]]:
    """(claims compared, one line per claim whose verdict differs) of the paper's claims
    evaluated on each run (`report --compare paper`'s `compare_with_paper`)."""
    from fanns_bench.report.claims import compare_with_paper

    verdicts_b = {v.id: v for v in compare_with_paper(b, resamples=0)}  # robustness not shown
    changes = []
    compared = 0
    for first in compare_with_paper(a, resamples=0):
        second = verdicts_b.get(first.id)
        if second is None:
            continue
        compared += 1
        if first.verdict != second.verdict:
            changes.append(
                f"{first.id} ({first.source}): {first.verdict} -> {second.verdict}\n"
                f"      A: {first.evidence}\n      B: {second.evidence}"
            )
    return compared, changes
