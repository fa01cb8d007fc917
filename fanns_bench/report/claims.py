"""The seed paper's claims checked on our results (`fanns-bench report DIR --compare paper`).

The claims live in `paper_claims.yaml` (each with its source in the paper and a
machine-checkable form); this module evaluates each on the leaderboard of a results
directory and says, with the numbers behind it, whether it holds on our data, does not,
or cannot be tested here (a method not yet available, not measured, or a scale not run).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

import numpy as np
import pandas as pd
import yaml

from fanns_bench.report.frame import ok_points
from fanns_bench.report.paper_figures import figures_citing, pooled_frame
from fanns_bench.report.tables import leaderboard

HOLDS, FAILS, UNTESTABLE = "holds", "does not hold", "not testable here"
SECTION = ["dataset", "filter_type", "selectivity_bucket", "k", "threads"]


@dataclass(frozen=True)
class Verdict:
    """One claim's outcome and the numbers behind it."""

    id: str
    source: str
    claim: str
    verdict: str
    evidence: str


def load_claims() -> dict[str, Any]:
    """The shipped claims file."""
    return yaml.safe_load((files("fanns_bench.report") / "paper_claims.yaml").read_text(encoding="utf-8"))


class Claims:
    """Evaluates the claims of `spec` on one results frame."""

    def __init__(self, frame: pd.DataFrame, spec: dict[str, Any], registered: set[str]) -> None:
        self.frame, self.spec, self.registered = frame, spec, registered
        board = leaderboard(frame)
        self.k = 10 if (board["k"] == 10).any() else (int(board["k"].min()) if len(board) else 10)
        self.all_k = board
        self.board = board[board["k"] == self.k] if len(board) else board
        self.present = set(frame["method"])

    def resolve(self, paper_name: str) -> str | None:
        """Our method standing for the paper's `paper_name` in these results (None: absent)."""
        return next((m for m in self.spec["methods"].get(paper_name, []) if m in self.present), None)

    def paper_methods(self) -> set[str]:
        """Our methods standing for the paper's (the comparisons of Figs. 23-26 are among them)."""
        return {m for m in map(self.resolve, self.spec["methods"]) if m}

    def missing(self, names: list[str]) -> str:
        parts = []
        for name in names:
            ours = self.spec["methods"].get(name, [])
            known = [m for m in ours if m in self.registered]
            parts.append(f"{name}: {'not measured here' if known else 'not yet available'}")
        return "; ".join(parts)

    def evaluate(self, claims: list[dict[str, Any]] | None = None) -> list[Verdict]:
        verdicts = []
        for claim in self.spec["claims"] if claims is None else claims:
            check = dict(claim["check"])
            kind = check.pop("kind")
            verdict, evidence = CHECKS[kind](self, **check)
            verdicts.append(Verdict(claim["id"], claim["source"], claim["text"], verdict, evidence))
        return verdicts

    def sections(self, filter_types: list[str] | None = None) -> list[tuple[tuple, pd.DataFrame]]:
        rows = (
            self.board if filter_types is None else self.board[self.board["filter_type"].isin(filter_types)]
        )
        rows = rows[rows["filter_type"] != "none"]
        return list(rows.groupby(SECTION, dropna=False, sort=True))

    def value(self, section: pd.DataFrame, method: str | None, metric: str) -> float:
        if method is None:
            return math.nan
        values = section.loc[section["method"] == method, metric]
        return float(values.iloc[0]) if len(values) else math.nan


def _label(key: tuple) -> str:
    return _where(key[1], key[2])


def _where(filter_type: str, bucket: float) -> str:
    """`EM@0.01` for one selectivity bucket, `EM` for a filter type's whole query set."""
    return filter_type if bucket is None or math.isnan(bucket) else f"{filter_type}@{bucket:g}"


def specialised_over(c: Claims, versatile: str, metric: str, paper_factor: float) -> tuple[str, str]:
    acorn = c.resolve(versatile)
    ratios = []
    for key, section in c.sections():
        names = c.spec["specialised"].get(key[1], [])
        ours = [m for m in map(c.resolve, names) if m]
        if acorn is None or not ours:
            continue
        best = max(ours, key=lambda m: np.nan_to_num(c.value(section, m, metric), nan=-1.0))
        top, base = c.value(section, best, metric), c.value(section, acorn, metric)
        if math.isnan(top):
            continue
        ratios.append((key, best, math.inf if math.isnan(base) else top / base))
    if not ratios:
        needed = [versatile, *sorted({n for v in c.spec["specialised"].values() for n in v})]
        return UNTESTABLE, f"needs ACORN and a specialised method reaching the recall ({c.missing(needed)})"
    finite = [r for _, _, r in ratios if math.isfinite(r)]
    only = len(ratios) - len(finite)
    largest = f"largest {_ratio(max(finite))}" if finite else "no section where both reach it"
    if only:
        largest += f", and {only} section{'s' if only > 1 else ''} only the specialised method reaches"
    text = ", ".join(f"{_label(k)} {m} {_ratio(r)}" for k, m, r in ratios)
    verdict = HOLDS if all(r > 1 for _, _, r in ratios) else FAILS
    return verdict, f"{text}; {largest} (paper: up to {paper_factor:g}x), vs {acorn}"


def beaten_by_any(c: Claims, method: str, metric: str) -> tuple[str, str]:
    ours = c.resolve(method)
    if ours is None:
        return UNTESTABLE, c.missing([method])
    beaten, total = 0, 0
    for key, section in c.sections():
        rivals = [m for m in map(c.resolve, c.spec["specialised"].get(key[1], [])) if m]
        values = [c.value(section, m, metric) for m in rivals]
        values = [v for v in values if not math.isnan(v)]
        if not values:
            continue
        total += 1
        beaten += max(values) > np.nan_to_num(c.value(section, ours, metric), nan=-1.0)
    if not total:
        return UNTESTABLE, "no section with a specialised method reaching the recall"
    return (HOLDS if beaten > total / 2 else FAILS), f"{ours} beaten in {beaten} of {total} sections"


def better(c: Claims, better: list[str], worse: str, filter_types: list[str], metric: str) -> tuple[str, str]:
    winners, loser = [m for m in map(c.resolve, better) if m], c.resolve(worse)
    if not winners or loser is None:
        return UNTESTABLE, c.missing([*better, worse])
    outcomes = []
    for key, section in c.sections(filter_types):
        top = max(np.nan_to_num(c.value(section, m, metric), nan=-1.0) for m in winners)
        other = np.nan_to_num(c.value(section, loser, metric), nan=-1.0)
        if top < 0 and other < 0:
            continue
        outcomes.append((key, top, other))
    if not outcomes:
        return UNTESTABLE, "neither reaches the recall in any section"
    text = ", ".join(f"{_label(k)} {_num(t)} vs {_num(o)}" for k, t, o in outcomes)
    verdict = HOLDS if all(t > o for _, t, o in outcomes) else FAILS
    return verdict, f"{'/'.join(winners)} vs {loser} ({metric}): {text}"


def top_fraction(
    c: Claims, method: str, filter_types: list[str], metric: str, fraction: float
) -> tuple[str, str]:
    ours = c.resolve(method)
    if ours is None:
        return UNTESTABLE, c.missing([method])
    ranks = []
    for key, section in c.sections(filter_types):
        ranked = section.dropna(subset=[metric]).sort_values(metric, ascending=False)["method"].tolist()
        if ours in ranked:
            ranks.append((key, ranked.index(ours) + 1, len(ranked)))
        elif ranked:
            ranks.append((key, len(ranked) + 1, len(ranked)))
    if not ranks:
        return UNTESTABLE, "no section with methods reaching the recall"
    good = sum(rank <= math.ceil(fraction * n) for _, rank, n in ranks)
    text = ", ".join(f"{_label(k)} rank {r}/{n}" for k, r, n in ranks)
    return (HOLDS if good > len(ranks) / 2 else FAILS), f"{ours}: {text}"


def build_spread(c: Claims, paper_factor: float, max_abs_correlation: float) -> tuple[str, str]:
    board = c.board[c.board["method"].isin(c.paper_methods())]
    per_method = board.groupby("method").agg(build=("build_seconds", "median"), qps=("qps_at_0.9", "median"))
    per_method = per_method[per_method["build"] > 0]
    if len(per_method) < 3:
        return UNTESTABLE, "fewer than three of the paper's methods with a build time"
    spread = per_method["build"].max() / per_method["build"].min()
    both = per_method.dropna()
    rho = both["build"].rank().corr(both["qps"].rank()) if len(both) >= 3 else math.nan
    holds = spread <= paper_factor and (math.isnan(rho) or abs(rho) < max_abs_correlation)
    return (HOLDS if holds else FAILS), (
        f"build time spread {spread:.1f}x over {len(per_method)} methods (paper: up to {paper_factor:g}x); "
        f"Spearman(build s, QPS@0.9) = {rho:.2f} over {len(both)} methods"
    )


def largest(c: Claims, methods: list[str], metric: str) -> tuple[str, str]:
    ours = [c.resolve(m) for m in methods]
    if None in ours:
        return UNTESTABLE, c.missing([m for m, o in zip(methods, ours, strict=True) if o is None])
    points = ok_points(c.frame)
    points = points[points["method"].isin(c.paper_methods())]
    per_method = points.groupby("method")[metric].max().sort_values(ascending=False)
    top = per_method.index[: len(ours)].tolist()
    text = ", ".join(f"{m} {_num(v)}" for m, v in per_method.head(len(ours) + 2).items())
    return (HOLDS if set(top) == set(ours) else FAILS), f"largest {metric}: {text}"


def max_recall_below(c: Claims, methods: list[str] | str, value: float, min_items: int) -> tuple[str, str]:
    rows = ok_points(c.frame)
    rows = rows[rows["dataset_count"] >= min_items]
    if rows.empty:
        return UNTESTABLE, f"no run on a dataset of >= {min_items:,} items (the paper's large scale)"
    best = rows.groupby("method")["recall"].max()
    if methods == "any":
        low = best[best < value]
        return (HOLDS if len(low) else FAILS), f"best recall per method: {_series(best)}"
    ours = [c.resolve(m) for m in methods]
    present = [o for o in ours if o in best.index]
    if not present:
        return UNTESTABLE, c.missing(methods)
    verdict = HOLDS if all(best[o] < value for o in present) else FAILS
    return verdict, f"best recall: {_series(best[present])} (paper: below {value:g})"


def consistent_across_k(c: Claims, metric: str, min_kendall_tau: float) -> tuple[str, str]:
    taus = []
    keys = ["dataset", "filter_type", "selectivity_bucket", "threads"]
    for key, rows in c.all_k.groupby(keys, dropna=False):
        base = rows[rows["k"] == c.k].set_index("method")[metric].dropna()
        for k, other in rows[rows["k"] != c.k].groupby("k"):
            other = other.set_index("method")[metric].dropna()
            common = base.index.intersection(other.index)
            if len(common) >= 3:
                taus.append((f"{_where(key[1], key[2])} k={k}", kendall_tau(base[common], other[common])))
    if not taus:
        return (
            UNTESTABLE,
            f"needs runs at k = {c.k} and another k with three or more methods reaching the recall",
        )
    text = ", ".join(f"{label} tau {tau:.2f}" for label, tau in taus)
    return (HOLDS if all(t >= min_kendall_tau for _, t in taus) else FAILS), text


def low_selectivity_degradation(
    c: Claims,
    metric: str,
    ratio: float,
    methods: list[str] | None = None,
    filter_types: list[str] | None = None,
) -> tuple[str, str]:
    """Per method and filter type, `metric` at the lowest filtered bucket over the highest;
    degraded when at most `ratio` (a method not reaching the recall at the lowest counts as 0)."""
    rows = c.board[(c.board["filter_type"] != "none") & (c.board["selectivity_bucket"] < 1)]
    if filter_types:
        rows = rows[rows["filter_type"].isin(filter_types)]
    wanted = None
    if methods:
        wanted = [c.resolve(m) for m in methods]
        if None in wanted:
            return UNTESTABLE, c.missing(methods)
        rows = rows[rows["method"].isin(wanted)]
    ratios = []
    for (method, filter_type), group in rows.groupby(["method", "filter_type"]):
        if group["selectivity_bucket"].nunique() < 2:
            continue
        ordered = group.sort_values("selectivity_bucket")
        low, high = float(ordered[metric].iloc[0]), float(ordered[metric].iloc[-1])
        if math.isnan(high) or high <= 0:
            continue
        ratios.append((method, filter_type, 0.0 if math.isnan(low) else low / high))
    if not ratios:
        return UNTESTABLE, f"needs two or more selectivity buckets per method with {metric} at the highest"
    degraded = [r for r in ratios if r[2] <= ratio]
    text = ", ".join(f"{m} {t} {r:.2f}x" for m, t, r in sorted(ratios, key=lambda r: r[2])[:8])
    where = f"{metric} at the lowest over the highest bucket"
    if wanted:
        return (HOLDS if degraded else FAILS), f"{where}: {text}"
    holds = degraded and len(degraded) < len(ratios) / 2
    return (HOLDS if holds else FAILS), f"{len(degraded)} of {len(ratios)} at <= {ratio:g}x ({where}): {text}"


def kendall_tau(a: pd.Series, b: pd.Series) -> float:
    """Kendall's tau between two score series over the same index (ties count as neither)."""
    x, y = a.to_numpy(float), b.reindex(a.index).to_numpy(float)
    sign = np.sign(np.subtract.outer(x, x)) * np.sign(np.subtract.outer(y, y))
    pairs = len(x) * (len(x) - 1)
    return float(sign.sum() / pairs) if pairs else math.nan


def _ratio(value: float) -> str:
    return "only it reaches" if math.isinf(value) else f"{value:.2f}x"


def _num(value: float) -> str:
    return "-" if value is None or value < 0 or math.isnan(value) else f"{value:,.3g}"


def _series(values: pd.Series) -> str:
    return ", ".join(f"{m} {v:.2f}" for m, v in values.items())


CHECKS: dict[str, Callable[..., tuple[str, str]]] = {
    "specialised_over": specialised_over,
    "beaten_by_any": beaten_by_any,
    "better": better,
    "top_fraction": top_fraction,
    "build_spread": build_spread,
    "largest": largest,
    "max_recall_below": max_recall_below,
    "consistent_across_k": consistent_across_k,
    "low_selectivity_degradation": low_selectivity_degradation,
}


def compare_with_paper(frame: pd.DataFrame) -> list[Verdict]:
    """Every claim of the shipped claims file, evaluated on the rows of the experiments behind
    the figure(s) it cites (pooled over selectivity buckets where the paper's figure pools its
    query set), or on all rows where none of those experiments was run."""
    from fanns_bench.methods.registry import method_names

    spec, registered = load_claims(), set(method_names())
    views: dict[tuple[str, ...], tuple[Claims, str]] = {}
    verdicts = []
    for claim in spec["claims"]:
        figures = figures_citing(spec, claim["source"])
        key = tuple(f.figure for f in figures)
        if key not in views:
            views[key] = _view(frame, figures, spec, registered)
        claims, scope = views[key]
        (verdict,) = claims.evaluate([claim])
        verdicts.append(Verdict(verdict.id, verdict.source, verdict.claim, verdict.verdict,
                                f"{verdict.evidence} [{scope}]"))  # fmt: skip
    return verdicts


def _view(
    frame: pd.DataFrame, figures: list, spec: dict[str, Any], registered: set[str]
) -> tuple[Claims, str]:
    """The Claims evaluator over the rows of `figures`' experiments, and how it was scoped."""
    rows = pd.concat([f.rows(frame) for f in figures]) if figures else frame.iloc[:0]
    rows = rows[~rows.index.duplicated()]
    if rows.empty:
        return Claims(frame, spec, registered), "all rows"
    names = ", ".join(sorted({f"{prefix}*" for f in figures for prefix in f.experiments}))
    if any(f.panels in ("filter_type", "k") for f in figures):
        return Claims(pooled_frame(rows), spec, registered), f"{names}, each filter type's queries pooled"
    return Claims(rows, spec, registered), f"{names}, per selectivity bucket"
