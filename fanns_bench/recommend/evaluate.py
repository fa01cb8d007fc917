"""The router graded on a held-out draw: per cell against the best single method there, and
over the whole mixed workload against every single method, with a verdict per target.

A cell is a (filter type, selectivity bucket). Per cell: the router's fastest row reaching the
target recall beside the fastest single-method row reaching it (`best_at_recall`). Over the
workload: each method's throughput when it answers every cell's queries with its fastest
configuration reaching the recall there, total queries / total seconds; a method that does
not reach the recall in some cell (or does not answer it) has no total and is listed apart.

The targets (issue 21), each a verdict that holds or not:
(a) recall: the router reaches the recall in every cell some single method reaches it in;
(b) speed: there, its QPS is at least (1 - band) x the best single method's;
(c) workload: its total throughput is higher than that of every single method that answers
    every cell (every filter type); such a method without a total (it misses the recall in
    some cell) cannot serve the workload at the target and is listed, not counted.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from fanns_bench.errors import ConfigError, ResultsError
from fanns_bench.methods.router.method import ANSWERED
from fanns_bench.recommend.choose import CELL_KEYS, ROUTER, is_router, recall_lower_bound, registry_names
from fanns_bench.recommend.policy import params_text, read_policy
from fanns_bench.report.frame import ok_points
from fanns_bench.report.pareto import RECALL_TOLERANCE, best_at_recall
from fanns_bench.report.quality import optional


@dataclass(frozen=True)
class CellGrade:
    """The router beside the best single method in one cell (NaN QPS: does not reach)."""

    filter_type: str
    bucket: float
    router_qps: float
    best_method: str
    best_qps: float
    router_high: float = math.nan  # the router's fastest repetition there
    best_low: float = math.nan  # the best single method's slowest repetition
    pick: str = ""  # the route that answered the router's queries here (its counters), "" if several
    pick_qps: float = math.nan  # that method and parameters alone in this cell (NaN: no such row)
    pick_low: float = math.nan  # its slowest repetition

    @property
    def ratio(self) -> float:
        return self.router_qps / self.best_qps

    @property
    def reachable(self) -> bool:
        """Some single method reaches the recall here."""
        return bool(self.best_method)

    @property
    def reached(self) -> bool:
        return not math.isnan(self.router_qps)

    def close(self, band: float) -> bool:
        """The router reaches the recall at >= (1 - band) x the best single method's QPS."""
        return self.reached and self.reachable and self.ratio >= 1 - band

    @property
    def pick_ratio(self) -> float:
        """The router's QPS over its pick's alone: below 1, what routing cost."""
        return self.router_qps / self.pick_qps

    @property
    def routing_within_noise(self) -> bool:
        """The router's fastest repetition reaches its pick's slowest: what routing cost is
        within the measured noise."""
        return self.router_high >= self.pick_low

    def close_within_noise(self, band: float) -> bool:
        """Its fastest repetition reaches (1 - band) x the best's slowest: the miss is noise."""
        return self.reached and self.reachable and self.router_high >= (1 - band) * self.best_low


@dataclass(frozen=True)
class Verdict:
    """One target: whether it holds and the figures behind the answer."""

    target: str
    holds: bool
    detail: str

    def line(self) -> str:
        return f"target {self.target}: {'HOLDS' if self.holds else 'DOES NOT HOLD'} ({self.detail})"


def grade_cells(frame: pd.DataFrame, recall: float, admitted: Admitted | None = None) -> list[CellGrade]:
    """One grade per cell where the router or a single method has a usable row. Router rows
    of several build configurations (policies) raise `ResultsError`: their cells would mix.
    `admitted`: compare with those single configurations only (`admitted_on`)."""
    points = ok_points(frame)
    if admitted is not None:
        points = points[is_router(points) | pd.Series(config_keys(points), index=points.index).isin(admitted)]
    router = points[is_router(points)]
    policies = sorted(set(router["build_params"].fillna("")))
    if len(policies) > 1:
        raise ResultsError(
            f"--grade: the router's rows come from {len(policies)} build configurations "
            f"({'; '.join(policies)}); grade one policy per results folder (a fresh folder for each policy)"
        )
    reached = best_at_recall(points, recall)
    grades = []
    for (filter_type, bucket), cell in points.groupby(CELL_KEYS, sort=True):
        best = reached.loc[reached.index.intersection(cell.index)]
        own, single = best[is_router(best)], best[~is_router(best)].sort_values("qps", ascending=False)
        top_own = own.sort_values("qps", ascending=False).head(1)
        grades.append(
            CellGrade(
                str(filter_type),
                float(bucket),
                float(top_own["qps"].iloc[0]) if len(top_own) else math.nan,
                str(single["method"].iloc[0]) if len(single) else "",
                float(single["qps"].iloc[0]) if len(single) else math.nan,
                _column(top_own, "qps_high"),
                _column(single, "qps_low"),
                *_pick(top_own, cell),
            )
        )
    return grades if len(router) else []


Admitted = set[tuple[object, ...]]
"""Single configurations by (filter type, bucket, k, threads, method, build, search)."""


def admitted_on(learning: pd.DataFrame, recall: float, recall_z: float) -> Admitted:
    """The single configurations whose recall's lower bound (`recall_lower_bound`, `recall_z`)
    reaches `recall` on the learning draw's rows: those a choice made there, as the policy's
    was, could have taken. The best of them on the held-out draw is what a single method
    tuned on the learning draw would give; the best of all is known only in hindsight."""
    points = ok_points(learning)
    points = points[~is_router(points)]
    reaching = recall_lower_bound(points, recall_z) >= recall - RECALL_TOLERANCE
    return set(config_keys(points[reaching]))


def config_keys(points: pd.DataFrame) -> list[tuple[object, ...]]:
    columns = ["filter_type", "selectivity_bucket", "k", "threads", "method", "build_params", "search_params"]
    return [
        (str(t), float(b), int(k), int(n), str(m), str(bp or ""), str(sp or ""))
        for t, b, k, n, m, bp, sp in points[columns].itertuples(index=False)
    ]


def _pick(router: pd.DataFrame, cell: pd.DataFrame) -> tuple[str, float, float]:
    """(the route label that answered every query of the router's row, the QPS and slowest
    repetition of the single row of that method and parameters in the cell: NaN where there
    is none); ("", NaN, NaN) when the row's counters name no route or several."""
    label = answered_label(router)
    if not label:
        return "", math.nan, math.nan
    single = cell[~is_router(cell)]
    same = single[same_configuration(single, label)].sort_values("qps", ascending=False).head(1)
    return label, _column(same, "qps"), _column(same, "qps_low")


def answered_label(router: pd.DataFrame) -> str:
    """The route label (`params_text` spelling) that answered every query of the first
    router row, from its counters; "" when they name no route or several."""
    if router.empty or "method_stats" not in router:
        return ""
    stats = router["method_stats"].iloc[0]
    counters = json.loads(stats) if isinstance(stats, str) and stats else {}
    labels = [key.removeprefix(ANSWERED) for key, n in counters.items() if key.startswith(ANSWERED) and n > 0]
    return labels[0] if len(labels) == 1 else ""


def same_configuration(rows: pd.DataFrame, label: str) -> pd.Series:
    """Mask of the rows whose method (as the registry names it, as routes do) and parameters
    spell `label` (a router route's)."""
    spelled = [
        f"{m} {_compact(b)} {_compact(q)}"
        for m, b, q in zip(registry_names(rows), rows["build_params"], rows["search_params"], strict=True)
    ]
    return pd.Series([bool(label) and text == label for text in spelled], index=rows.index, dtype=bool)


def _compact(params: object) -> str:
    """A row's parameters as the router's counters spell them (`params_text`)."""
    return params_text(json.loads(params) if isinstance(params, str) and params else {})


def _column(rows: pd.DataFrame, column: str) -> float:
    """The first row's `column` (its `qps` where the frame has no such column); NaN if none."""
    if rows.empty:
        return math.nan
    return float(rows[column].iloc[0] if column in rows else rows["qps"].iloc[0])


def workload_throughput(
    frame: pd.DataFrame, recall: float, qps: str = "qps"
) -> tuple[dict[str, float], dict[str, int]]:
    """(method -> queries per second over every cell, method -> cells it misses) where a cell
    is missed when the method has no row reaching `recall` there. `qps`: the column whose
    rate each cell's seconds come from (`qps_low` / `qps_high` give the totals' spread)."""
    points = ok_points(frame)
    cells = points.groupby(CELL_KEYS).ngroups
    reached = best_at_recall(points, recall)
    totals, missing = {}, {}
    for method, rows in reached.groupby("method", sort=True):
        if len(rows) < cells:
            missing[str(method)] = cells - len(rows)
            continue
        rate = rows[qps if qps in rows else "qps"].astype(float)
        seconds = (rows["n_queries"].astype(float) / rate).sum()
        totals[str(method)] = float(rows["n_queries"].sum() / seconds)
    for method in sorted(set(points["method"]) - set(reached["method"])):
        missing[str(method)] = cells
    return totals, missing


def full_coverage(frame: pd.DataFrame) -> list[str]:
    """Single methods with a usable row in every cell: they answer every filter type."""
    points = ok_points(frame)
    cells = points.groupby(CELL_KEYS).ngroups
    single = points[~is_router(points)]
    answered = single.groupby("method")[CELL_KEYS].apply(lambda rows: len(rows.drop_duplicates()))
    return sorted(str(m) for m, n in answered.items() if n == cells)


def verdicts(frame: pd.DataFrame, recall: float, band: float = 0.1) -> list[Verdict]:
    """The three targets on `frame` (the held-out rows, router included); [] without router rows."""
    grades = grade_cells(frame, recall)
    if not grades:
        return []
    reachable = [g for g in grades if g.reachable]
    lost = [g for g in reachable if not g.reached]
    recall_verdict = Verdict(
        "(a) recall",
        not lost and bool(reachable),
        f"the router reaches recall {recall:g} in {len(reachable) - len(lost)} of the {len(reachable)} cells "
        "some single method reaches" + (f"; misses: {_cells(lost)}" if lost else ""),
    )
    slow = [g for g in reachable if g.reached and not g.close(band)]
    noise = [g for g in slow if g.close_within_noise(band)]
    speed_verdict = Verdict(
        f"(b) QPS within {band:.0%} of the best single method per cell",
        not slow and not lost and bool(reachable),
        f"{len(reachable) - len(lost) - len(slow)} of {len(reachable)} cells"
        + (f"; slower: {_cells(slow, ratio=True)}" if slow else "")
        + (f" ({len(noise)} of them within the measured noise: {_cells(noise)})" if noise else "")
        + (f"; not reaching the recall: {len(lost)}" if lost else ""),
    )
    return [recall_verdict, speed_verdict, workload_verdict(frame, recall)]


def workload_verdict(frame: pd.DataFrame, recall: float) -> Verdict:
    """(c): the router's total throughput against every single method answering every cell."""
    totals, missing = workload_throughput(frame, recall)
    lows, _ = workload_throughput(frame, recall, "qps_low")
    highs, _ = workload_throughput(frame, recall, "qps_high")
    rivals = [m for m in full_coverage(frame)]
    scored = sorted((m for m in rivals if m in totals), key=lambda m: -totals[m])
    unscored = [m for m in rivals if m not in totals]
    target = "(c) whole-workload throughput above every single method answering every filter type"
    if ROUTER not in totals:
        cells = missing.get(ROUTER, 0)
        return Verdict(
            target, False, f"the router misses the recall in {cells} cell(s): no total at the target"
        )
    mine = totals[ROUTER]
    beaten = [m for m in scored if totals[m] >= mine]
    spread = f"[{lows.get(ROUTER, mine):,.0f}-{highs.get(ROUTER, mine):,.0f}]"
    parts = [f"router {mine:,.0f} QPS {spread}"]
    if scored:
        top = scored[0]
        parts.append(
            f"best single {top} {totals[top]:,.0f} QPS [{lows.get(top, totals[top]):,.0f}-"
            f"{highs.get(top, totals[top]):,.0f}]"
        )
        if not beaten and lows.get(ROUTER, mine) <= highs.get(top, totals[top]):
            parts.append("the margin is within the measured noise")
    if beaten:
        parts.append(f"not above: {', '.join(beaten)}")
    if unscored:
        parts.append(
            "answering every filter type but missing the recall somewhere (no total at the target): "
            + ", ".join(f"{m} ({missing.get(m, 0)} cells)" for m in unscored)
        )
    if not rivals:
        parts.append("no single method answers every filter type")
    return Verdict(target, not beaten, "; ".join(parts))


def row_commits(frame: pd.DataFrame) -> tuple[str, ...]:
    """The git commits the rows were measured at (sorted; none where not recorded)."""
    return tuple(sorted({str(c) for c in optional(frame, "git_commit").dropna() if str(c)}))


def learned_elsewhere(frame: pd.DataFrame) -> str:
    """A note when the router's policy was learned on rows of other code than these rows'
    (its `commits` against their `git_commit`): a change between them to what a method's filter
    or search costs shows in the held-out rows only, so the policy chose on costs that are no
    more. "" when they match, or where the policy file or the commits are not recorded."""
    router = frame[is_router(frame)]
    paths = {json.loads(p or "{}").get("policy") for p in router["build_params"].fillna("")}
    if len(paths) != 1 or not isinstance(path := paths.pop(), str) or not Path(path).is_file():
        return ""
    try:
        learned = read_policy(Path(path)).commits
    except ConfigError:
        return ""
    here = row_commits(frame)
    if not learned or not here or set(learned) == set(here):
        return ""
    return (
        f"note: the policy was learned on rows measured at {', '.join(learned)}, these rows at "
        f"{', '.join(here)}: what changed between them in a method's cost is in these rows only "
        "(measure the learning run again at this commit: runner.force=true)"
    )


def _cells(grades: list[CellGrade], ratio: bool = False) -> str:
    return ", ".join(
        f"{g.filter_type} {g.bucket:g}" + (f" {g.ratio:.2f}x {g.best_method}" if ratio else "")
        for g in grades
    )


def _why_slower(g: CellGrade) -> str:
    """Where a slow cell's gap is: the policy's pick (chosen on the learning draw) against the
    best single method here, and the router against its pick alone (what routing cost, or
    the measured noise where their repetitions overlap)."""
    method = g.pick.split(" ", 1)[0]
    if math.isnan(g.pick_qps):
        return f"answered by {g.pick}; that configuration has no row of its own in this cell"
    noise = "within the measured noise" if g.routing_within_noise else "beyond the measured noise"
    return (
        f"answered by {method}, alone here {g.pick_qps:,.0f} QPS: the policy's pick is "
        f"{g.pick_qps / g.best_qps:.2f}x the best; the router {g.pick_ratio:.2f}x its pick alone "
        f"({noise}); pick: {g.pick}"
    )


def admitted_verdict(frame: pd.DataFrame, recall: float, admitted: Admitted, band: float = 0.1) -> Verdict:
    """(b) against the best single configuration the learning draw admitted (`admitted_on`)
    in each cell: what no policy learned there could have beaten is left out of the bar."""
    grades = [g for g in grade_cells(frame, recall, admitted) if g.reachable and g.reached]
    slow = [g for g in grades if not g.close(band)]
    return Verdict(
        f"(b) as learned: QPS within {band:.0%} of the best single configuration the learning draw admitted",
        not slow and bool(grades),
        f"{len(grades) - len(slow)} of {len(grades)} cells where one reaches the recall here"
        + (f"; slower: {_cells(slow, ratio=True)}" if slow else ""),
    )


def grade_lines(
    frame: pd.DataFrame, recall: float, band: float = 0.1, admitted: Admitted | None = None
) -> list[str]:
    """The grades as text: per cell, the counts against the targets, the workload totals and
    one verdict line per target; with `admitted`, also (b) against what the learning draw
    admitted (a line of information, not one of the targets)."""
    grades = grade_cells(frame, recall)
    if not grades:
        return [f"no {ROUTER} rows to grade"]
    lines = [f"router against the best single method per cell (recall >= {recall:g}):"]
    for g in grades:
        router = "no row reaching the recall" if not g.reached else f"{g.router_qps:,.0f} QPS"
        best = "none reaches" if not g.reachable else f"{g.best_method} {g.best_qps:,.0f} QPS"
        ratio = "" if not g.reached or not g.reachable else f": {g.ratio:.2f}x"
        lines.append(f"  {g.filter_type} bucket {g.bucket:g}: router {router}; best single {best}{ratio}")
        if g.reached and g.reachable and not g.close(band) and g.pick:
            lines.append(f"    {_why_slower(g)}")
    reachable = [g for g in grades if g.reachable]
    lost = [g for g in reachable if not g.reached]
    close = [g for g in reachable if g.close(band)]
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
    note = learned_elsewhere(frame)
    targets = [v.line() for v in verdicts(frame, recall, band)]
    also = [f"also, {admitted_verdict(frame, recall, admitted, band).line()}"] if admitted is not None else []
    return [*lines, *([note] if note else []), "", *targets, *also]
