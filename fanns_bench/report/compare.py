"""`fanns-bench compare DIR_A DIR_B`: two runs of the same experiment, rows matched by key.

Prints the matched / A-only / B-only counts, the distribution of the point QPS ratio B/A (wall
`qps`, and CPU-time `qps_cpu` where recorded), recall agreement (split by the `deterministic`
column where recorded), each run's noisy points and machine load (`quality.noise_lines`, the
run summary's and the report's words), the machine's drift between the rounds of each job and
its probe against the run's start (issue 16), how many of the points that moved were flagged,
leaderboard rank changes outside ties and the seed paper's claim verdict changes. Every
tolerance passed is checked; results folders that predate a column say "not recorded" for it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from fanns_bench.errors import ResultsError
from fanns_bench.report.frame import load_frame
from fanns_bench.report.paper_figures import attach_recall_weights
from fanns_bench.report.quality import NOT_RECORDED, noise_lines, recorded
from fanns_bench.report.run_changes import covers_paper, rank_changes, verdict_changes
from fanns_bench.report.tables import LEVELS
from fanns_bench.results.schema import STATUS_OK
from fanns_bench.runner.noise import MAX_DRIFT, MAX_PROBE_RATIO, MIN_PROBE_RATIO


@dataclass(frozen=True)
class Tolerances:
    """What `compare` checks; None = report only."""

    qps_band: tuple[float, float] | None = None  # wall QPS ratio B/A, at `percentiles`
    cpu_qps_band: tuple[float, float] | None = None  # the same for qps_cpu
    percentiles: tuple[float, float] = (5.0, 95.0)
    min_recall_agreement: float | None = None  # share of (deterministic) points, 0..1
    max_rank_changes: int | None = None
    max_verdict_changes: int | None = None
    min_noisy_flagged: float | None = None  # share of moved points flagged noisy, 0..1
    moved: float = 0.2  # a point "moved" when |B/A - 1| exceeds this
    recalls: tuple[float, ...] = LEVELS  # leaderboard recall levels


@dataclass
class Comparison:
    """The printed lines and the tolerances exceeded (empty: within tolerances)."""

    lines: list[str] = field(default_factory=list)
    exceeded: list[str] = field(default_factory=list)


def compare_dirs(dir_a: Path, dir_b: Path, tolerances: Tolerances) -> Comparison:
    """Load both results folders (`ResultsError` when missing or empty) and compare them, with
    the recall weights the report attaches, so both judge the paper's claims alike."""
    a, b = (attach_recall_weights(load_frame(d), d) for d in (dir_a, dir_b))
    return compare_frames(a, b, tolerances, (str(dir_a), str(dir_b)))


def compare_frames(
    a: pd.DataFrame, b: pd.DataFrame, tolerances: Tolerances, names: tuple[str, str] = ("A", "B")
) -> Comparison:
    """Compare two runs' rows; `ResultsError` when no key is in both."""
    matched = match_rows(a, b)
    if matched.empty:
        raise ResultsError(f"{names[0]} and {names[1]}: no row key in both; not runs of the same experiment")
    out = Comparison()
    only_a, only_b = len(set(a["key"]) - set(b["key"])), len(set(b["key"]) - set(a["key"]))
    out.lines += [
        f"A: {names[0]} ({len(a)} rows)",
        f"B: {names[1]} ({len(b)} rows)",
        f"rows: {len(matched)} matched, {only_a} only in A, {only_b} only in B",
    ]
    out.lines += status_changes(matched)
    ok = ok_pairs(matched)
    out.lines.append(f"ok points in both runs: {len(ok)}")
    _ratio_check(out, ok, "qps", "wall QPS", tolerances.qps_band, tolerances, (a, b))
    out.lines += spread_lines(ok, tolerances.percentiles)
    _ratio_check(out, ok, "qps_cpu", "CPU QPS", tolerances.cpu_qps_band, tolerances, (a, b))
    _recall_check(out, ok, tolerances.min_recall_agreement)
    out.lines += noise_lines_per_run(a, b)
    out.lines += machine_lines(a, b)
    _noisy_check(out, ok, tolerances)
    _machine_check(out, ok, (a, b), tolerances.moved)
    _rank_check(out, a, b, tolerances)
    _verdict_check(out, a, b, tolerances.max_verdict_changes)
    return out


def match_rows(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """Rows of both runs side by side (columns suffixed `_a` and `_b`), by key."""
    return a.merge(b, on="key", suffixes=("_a", "_b"))


def ok_pairs(matched: pd.DataFrame) -> pd.DataFrame:
    """Matched points that are ok with a positive wall QPS in both runs."""
    both = (matched["status_a"] == STATUS_OK) & (matched["status_b"] == STATUS_OK)
    qps = matched["qps_a"].astype(float).gt(0) & matched["qps_b"].astype(float).gt(0)
    return matched[both & qps]


def status_changes(matched: pd.DataFrame) -> list[str]:
    changed = matched[matched["status_a"] != matched["status_b"]]
    if changed.empty:
        return []
    counts = Counter(zip(changed["status_a"], changed["status_b"], strict=True))
    text = ", ".join(f"{first} -> {second} {n}" for (first, second), n in sorted(counts.items()))
    return [f"status changed on {len(changed)} points: {text}"]


def ratios(ok: pd.DataFrame, column: str) -> pd.Series:
    """B/A of `column` on the points where both runs have a positive value."""
    if f"{column}_a" not in ok or f"{column}_b" not in ok:
        return pd.Series(dtype=float)
    first, second = ok[f"{column}_a"].astype(float), ok[f"{column}_b"].astype(float)
    keep = first.gt(0) & second.gt(0)
    return second[keep] / first[keep]


def distribution(values: pd.Series, percentiles: tuple[float, float]) -> dict[str, float]:
    """The low / median / high percentiles, min and max of `values`."""
    low, median, high = np.percentile(values.to_numpy(float), [percentiles[0], 50.0, percentiles[1]])
    return {"low": low, "median": median, "high": high, "min": values.min(), "max": values.max()}


def _ratio_check(
    out: Comparison,
    ok: pd.DataFrame,
    column: str,
    label: str,
    band: tuple[float, float] | None,
    tolerances: Tolerances,
    frames: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    values = ratios(ok, column)
    if values.empty:
        missing = [run for run, frame in zip("AB", frames, strict=True) if not recorded(frame, column)]
        why = f"{NOT_RECORDED} in {' and '.join(missing)}" if missing else "no point has it in both runs"
        out.lines.append(f"{label} ratio B/A: {why}")
        if band is not None:
            out.exceeded.append(f"{label} band {band[0]:g}-{band[1]:g}: cannot be checked ({why})")
        return
    low, high = tolerances.percentiles
    d = distribution(values, tolerances.percentiles)
    out.lines.append(
        f"{label} ratio B/A over {len(values)} points: p{low:g} {d['low']:.3f}, median {d['median']:.3f}, "
        f"p{high:g} {d['high']:.3f}, min {d['min']:.3f}, max {d['max']:.3f}"
    )
    if band is None:
        return
    if d["low"] < band[0]:
        out.exceeded.append(f"{label} ratio p{low:g} {d['low']:.3f} is below the band's {band[0]:g}")
    if d["high"] > band[1]:
        out.exceeded.append(f"{label} ratio p{high:g} {d['high']:.3f} is above the band's {band[1]:g}")


def spread_lines(ok: pd.DataFrame, percentiles: tuple[float, float]) -> list[str]:
    """Where the wall QPS ratio's spread lies: the whole run's shift (the median ratio: a machine
    that ran faster or slower throughout), the spread of the methods' medians (a method's points
    share its build job's processes) and the points around their method's median."""
    values = ratios(ok, "qps")
    if values.empty or "method_a" not in ok:
        return []
    logs = np.log(values)
    method = ok.loc[values.index, "method_a"]
    by_method = logs.groupby(method).median()
    around = np.exp(np.percentile(logs - method.map(by_method), list(percentiles)))
    low, high = percentiles
    return [
        f"  spread of the wall QPS ratio: whole run {values.median():.3f} (median); "
        f"method medians {np.exp(by_method.min()):.3f}-{np.exp(by_method.max()):.3f} over "
        f"{len(by_method)} methods; points / their method's median p{low:g} {around[0]:.3f}, "
        f"p{high:g} {around[1]:.3f}"
    ]


def recall_agreement(ok: pd.DataFrame) -> dict[str, tuple[int, int]]:
    """(identical, total) recall per group: `all`, and where `deterministic` is recorded,
    `deterministic` (declared in both runs) and `not deterministic` (in either)."""
    same = ok["recall_a"].astype(float).eq(ok["recall_b"].astype(float))
    groups = {"all": (int(same.sum()), len(ok))}
    if "deterministic_a" in ok and "deterministic_b" in ok:
        first, second = ok["deterministic_a"], ok["deterministic_b"]
        if first.notna().any() or second.notna().any():
            yes = first.eq(True) & second.eq(True)
            no = first.eq(False) | second.eq(False)
            groups["deterministic"] = (int(same[yes].sum()), int(yes.sum()))
            groups["not deterministic"] = (int(same[no].sum()), int(no.sum()))
    return groups


def _share(part: int, total: int) -> str:
    return f"{part}/{total} ({100 * part / total:.1f} %)" if total else "0/0"


def _recall_check(out: Comparison, ok: pd.DataFrame, minimum: float | None) -> None:
    if ok.empty:
        out.lines.append("recall identical: no ok point in both runs")
        return
    groups = recall_agreement(ok)
    text = f"recall identical on {_share(*groups['all'])} points"
    if "deterministic" in groups:
        text += "; " + ", ".join(f"{name} builds {_share(*groups[name])}" for name in list(groups)[1:])
    else:
        text += f" (deterministic builds: {NOT_RECORDED})"
    out.lines.append(text)
    if minimum is None:
        return
    scope = "deterministic" if "deterministic" in groups else "all"
    same, total = groups[scope]
    if total and same / total < minimum:
        out.exceeded.append(
            f"recall identical on {100 * same / total:.1f} % of {scope if scope != 'all' else 'matched ok'} "
            f"points, below {100 * minimum:g} %"
        )


def noise_lines_per_run(a: pd.DataFrame, b: pd.DataFrame) -> list[str]:
    """Each run's noisy points and machine load, in the words of the run summary and the
    report (`quality.noise_lines`), prefixed with the run."""
    return [
        f"run {run}: {line}" for run, frame in zip("AB", (a, b), strict=True) for line in noise_lines(frame)
    ]


def machine_flags(frame: pd.DataFrame) -> pd.DataFrame:
    """Per row: `drift` above `MAX_DRIFT` (a noisy reason, `noise.drift_reasons`), `probe`
    outside the probe band (recorded only, not a noisy reason); False where not recorded."""
    drift = frame["drift"].astype(float) if "drift" in frame else pd.Series(np.nan, index=frame.index)
    probe = (
        frame["probe_ratio"].astype(float) if "probe_ratio" in frame else pd.Series(np.nan, index=frame.index)
    )
    outside = probe.notna() & ~probe.between(MIN_PROBE_RATIO, MAX_PROBE_RATIO)
    return pd.DataFrame({"drift": drift.gt(MAX_DRIFT), "probe": outside}, index=frame.index)


def machine_lines(a: pd.DataFrame, b: pd.DataFrame) -> list[str]:
    """Per run: the drift between its jobs' rounds and its probe ratio, and how many ok points
    each flagged."""
    lines = []
    for run, frame in zip("AB", (a, b), strict=True):
        ok = frame[frame["status"] == STATUS_OK]
        if not (recorded(ok, "drift") or recorded(ok, "probe_ratio")):
            lines.append(f"run {run}: drift between rounds and machine probe {NOT_RECORDED}")
            continue
        flags, parts = machine_flags(ok), []
        if recorded(ok, "drift"):
            drift = ok["drift"].astype(float)
            parts.append(
                f"drift between rounds median {drift.median():.1%}, max {drift.max():.1%}, "
                f"{_share(int(flags['drift'].sum()), len(ok))} ok points above {MAX_DRIFT:.0%}"
            )
        if recorded(ok, "probe_ratio"):
            probe = ok["probe_ratio"].astype(float)
            parts.append(
                f"probe vs run start median {probe.median():.2f}x ({probe.min():.2f}-{probe.max():.2f}), "
                f"{int(flags['probe'].sum())} outside [{MIN_PROBE_RATIO}, {MAX_PROBE_RATIO}]"
            )
        lines.append(f"run {run}: " + "; ".join(parts))
    return lines


def moved_points(ok: pd.DataFrame, moved: float) -> pd.DataFrame:
    """Points whose wall QPS moved by more than `moved` (|B/A - 1|)."""
    change = (ok["qps_b"].astype(float) / ok["qps_a"].astype(float) - 1).abs()
    return ok[change > moved]


def _noisy_check(out: Comparison, ok: pd.DataFrame, tolerances: Tolerances) -> None:
    moved = moved_points(ok, tolerances.moved)
    head = f"wall QPS moved by more than {100 * tolerances.moved:g} % on {len(moved)} of {len(ok)} points"
    flags = [c for c in ("noisy_a", "noisy_b") if c in moved]
    if not flags or not (ok[flags].notna().any().any()):
        out.lines.append(f"{head}; noisy flags {NOT_RECORDED}")
        if tolerances.min_noisy_flagged is not None:
            out.exceeded.append(f"noisy flags: cannot be checked ({NOT_RECORDED})")
        return
    flagged = moved[flags].eq(True).any(axis=1)
    out.lines.append(f"{head}; flagged noisy in A or B: {_share(int(flagged.sum()), len(moved))}")

    minimum = tolerances.min_noisy_flagged
    if minimum is not None and len(moved) and flagged.mean() < minimum:
        out.exceeded.append(
            f"{100 * flagged.mean():.1f} % of the points that moved were flagged noisy, "
            f"below {100 * minimum:g} %"
        )


def _machine_check(
    out: Comparison, ok: pd.DataFrame, runs: tuple[pd.DataFrame, pd.DataFrame], moved: float
) -> None:
    """How many of the points that moved the drift flagged, and how many the probe band would
    have, in A or B."""
    keys = moved_points(ok, moved)["key"]
    if keys.empty or not any(recorded(r, c) for r in runs for c in ("drift", "probe_ratio")):
        return
    flags = [machine_flags(r.set_index("key").reindex(keys)) for r in runs]
    by = {kind: int((flags[0][kind] | flags[1][kind]).sum()) for kind in ("drift", "probe")}
    out.lines.append(
        f"  of those, flagged by drift between rounds {_share(by['drift'], len(keys))}, "
        f"outside the machine probe's band {_share(by['probe'], len(keys))} (recorded, not a noisy reason)"
    )


def _rank_check(out: Comparison, a: pd.DataFrame, b: pd.DataFrame, tolerances: Tolerances) -> None:
    total = 0
    for recall in tolerances.recalls:
        sections, changes = rank_changes(a, b, recall)
        total += len(changes)
        out.lines.append(
            f"leaderboard at recall >= {recall:g} ({sections} sections, overlapping QPS intervals tied): "
            f"{len(changes)} rank change{'' if len(changes) == 1 else 's'}"
        )
        out.lines += [f"  {change}" for change in changes]
    maximum = tolerances.max_rank_changes
    if maximum is not None and total > maximum:
        out.exceeded.append(f"{total} leaderboard rank change(s), more than {maximum}")


def _verdict_check(out: Comparison, a: pd.DataFrame, b: pd.DataFrame, maximum: int | None) -> None:
    missing = [run for run, frame in zip("AB", (a, b), strict=True) if not covers_paper(frame)]
    if missing:
        where = " and ".join(missing)
        out.lines.append(f"paper claims: not compared (no rows of the paper's experiments in {where})")
        return
    compared, changes = verdict_changes(a, b)
    out.lines.append(f"paper claims: {compared} compared, {len(changes)} verdict change(s)")
    out.lines += [f"  {change}" for change in changes]
    if maximum is not None and len(changes) > maximum:
        out.exceeded.append(f"{len(changes)} paper-claim verdict change(s), more than {maximum}")
