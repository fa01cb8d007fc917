"""The seed paper's claims checked on our results (`fanns-bench report DIR --compare paper`).

The claims live in `paper_claims.yaml` (each with its source in the paper, a
machine-checkable form and that form's history); this module evaluates each on the
leaderboard of a results directory and says, with the numbers behind it, whether it holds on
our data, does not, or cannot be tested here (a method not yet available, not measured, or
the figure's experiment not run). Every check ranks over the paper's roster only: one of our
methods per paper method (the first of its variants present, e.g. `acorn_gamma_ref` for
ACORN); baselines (`exact`, `faiss_hnsw`, other variants) are reported beside, never counted.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from importlib.resources import files
from typing import Any

import numpy as np
import pandas as pd
import yaml

from fanns_bench.report.frame import ok_points
from fanns_bench.report.tables import leaderboard

HOLDS, FAILS, UNTESTABLE, UNSTABLE = "holds", "does not hold", "not testable here", "unstable"
SECTION = ["dataset", "filter_type", "selectivity_bucket", "k", "threads"]
UNUSED = ("ids", "search_seconds", "cpu_seconds", "method_stats", "versions")  # heavy, not read here


@dataclass(frozen=True)
class Verdict:
    """One claim's outcome, the numbers behind it, how robust it is and its form's history."""

    id: str
    source: str
    claim: str
    verdict: str
    evidence: str
    robustness: str = ""
    history: str = ""


def load_claims() -> dict[str, Any]:
    """The shipped claims file."""
    return yaml.safe_load((files("fanns_bench.report") / "paper_claims.yaml").read_text(encoding="utf-8"))


def absence(spec: dict[str, Any], paper_name: str) -> str:
    """Why the paper's `paper_name` has no rows: "not measured here" where the claims file's
    `methods` lists methods of ours for it (each a registered method: tests/report/test_claims.py),
    else "not yet available". From the claims file alone, so reports need no registry."""
    return "not measured here" if spec.get("methods", {}).get(paper_name) else "not yet available"


class Claims:
    """Evaluates the claims of `spec` on one results frame."""

    def __init__(self, frame: pd.DataFrame, spec: dict[str, Any]) -> None:
        self.frame, self.spec = frame, spec
        board = leaderboard(frame)
        self.k = 10 if (board["k"] == 10).any() else (int(board["k"].min()) if len(board) else 10)
        self.present = set(frame["method"])
        self.roster = roster(spec, self.present)
        self.all_k = board[board["method"].isin(self.roster.values())]
        self.baselines = board[~board["method"].isin(self.roster.values())]
        self.board = self.all_k[self.all_k["k"] == self.k]

    def resolve(self, paper_name: str) -> str | None:
        """Our method standing for the paper's `paper_name` in these results (None: absent)."""
        return self.roster.get(paper_name)

    def paper_methods(self) -> set[str]:
        """Our methods standing for the paper's (the roster every check ranks over)."""
        return set(self.roster.values())

    def missing(self, names: list[str]) -> str:
        """Why each of the paper's `names` that is absent here is absent ("" when none is)."""
        parts = []
        for name in names:
            if self.resolve(name):
                continue
            parts.append(f"{name}: {absence(self.spec, name)}")
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
        """Leaderboard sections (filtered, k of the claims) of the roster's methods."""
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

    def beside(self, key: tuple, metric: str) -> str:
        """The baselines' `metric` in section `key`, reported beside a ranking (never counted)."""
        rows = self.baselines
        for column, value in zip(SECTION, key, strict=True):
            rows = rows[rows[column].isna()] if _missing(value) else rows[rows[column] == value]
        shown = [f"{m} {_num(v)}" for m, v in zip(rows["method"], rows[metric], strict=True)]
        return f" [beside, not ranked: {', '.join(shown)}]" if shown else ""


def roster(spec: dict[str, Any], present: set[str]) -> dict[str, str]:
    """The paper's methods present here, each with the one variant standing for it: the first
    of its names in `spec["methods"]` that was run (e.g. acorn_gamma_ref before acorn_gamma)."""
    chosen = {name: next((m for m in ours if m in present), None) for name, ours in spec["methods"].items()}
    return {name: ours for name, ours in chosen.items() if ours}


def roster_note(spec: dict[str, Any], present: set[str]) -> str:
    """ "ACORN = acorn_gamma_ref, UNG = ung; baselines beside, never counted: exact, ..." """
    chosen = roster(spec, present)
    baselines = sorted(present - set(chosen.values()))
    ranked = ", ".join(f"{name} = {ours}" for name, ours in chosen.items()) or "none of the paper's methods"
    return f"{ranked}; baselines beside, never counted: {', '.join(baselines) or 'none'}"


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _label(key: tuple) -> str:
    return _where(key[1], key[2])


def _where(filter_type: str, bucket: float) -> str:
    """`EM@0.01` for one selectivity bucket, `EM` for a filter type's whole query set."""
    return filter_type if _missing(bucket) else f"{filter_type}@{bucket:g}"


def specialised_over(
    c: Claims, versatile: str, metric: str, paper_factor: float, band: list[float]
) -> tuple[str, str]:
    """The best specialised method over ACORN per section where either reaches the recall
    (only ACORN reaching counts as 0x, only the specialised one as unbounded); holds when every
    ratio exceeds 1 and the largest finite ratio lies in `band` (the paper's "up to" factor)."""
    acorn = c.resolve(versatile)
    ratios = []
    for key, section in c.sections():
        ran = set(section["method"])
        ours = [m for m in map(c.resolve, c.spec["specialised"].get(key[1], [])) if m in ran]
        if acorn not in ran or not ours:
            continue
        best = max(ours, key=lambda m: np.nan_to_num(c.value(section, m, metric), nan=-1.0))
        top, base = c.value(section, best, metric), c.value(section, acorn, metric)
        if math.isnan(top) and math.isnan(base):
            continue
        ratio = 0.0 if math.isnan(top) else math.inf if math.isnan(base) else top / base
        ratios.append((key, best, ratio))
    if not ratios:
        needed = [versatile, *sorted({n for v in c.spec["specialised"].values() for n in v})]
        absent = c.missing(needed)
        return UNTESTABLE, "needs ACORN and a specialised method run in one section" + (
            f" ({absent})" if absent else ""
        )
    text = ", ".join(f"{_label(k)} {m} {_ratio(r)}" for k, m, r in ratios)
    wins = all(r > 1 for _, _, r in ratios)
    finite = [r for _, _, r in ratios if 0 < r < math.inf]
    where = f"band {band[0]:g}..{band[1]:g}x for the paper's 'up to {paper_factor:g}x'"
    if not finite:
        summary = f"{text}; no section where both reach it, so the factor is untested ({where})"
        return (UNTESTABLE if wins else FAILS), f"{summary}, vs {acorn}"
    largest = max(finite)
    in_band = band[0] <= largest <= band[1]
    verdict = HOLDS if wins and in_band else FAILS
    place = "in" if in_band else "outside"
    return verdict, f"{text}; largest {_ratio(largest)} ({place} the {where}), vs {acorn}"


def beaten_by_any(c: Claims, method: str, metric: str) -> tuple[str, str]:
    """In more than half of the sections where `method` or a specialised rival reaches the
    recall, some rival has the higher `metric` (only `method` reaching: not beaten)."""
    ours = c.resolve(method)
    if ours is None:
        return UNTESTABLE, c.missing([method])
    beaten, total = 0, 0
    for key, section in c.sections():
        ran = set(section["method"])
        rivals = [m for m in map(c.resolve, c.spec["specialised"].get(key[1], [])) if m in ran]
        if ours not in ran or not rivals:
            continue
        best = max(np.nan_to_num(c.value(section, m, metric), nan=-1.0) for m in rivals)
        own = np.nan_to_num(c.value(section, ours, metric), nan=-1.0)
        if best < 0 and own < 0:
            continue
        total += 1
        beaten += best > own
    if not total:
        return UNTESTABLE, f"no section where {ours} or a specialised method reaches the recall"
    return (HOLDS if beaten > total / 2 else FAILS), f"{ours} beaten in {beaten} of {total} sections"


def better(c: Claims, better: list[str], worse: str, filter_types: list[str], metric: str) -> tuple[str, str]:
    """Wherever one of them reaches the recall, the best of `better` beats `worse`."""
    winners, loser = [m for m in map(c.resolve, better) if m], c.resolve(worse)
    if not winners or loser is None:
        return UNTESTABLE, c.missing([*better, worse])
    outcomes, run = [], 0
    for key, section in c.sections(filter_types):
        ran = set(section["method"])
        if loser not in ran or not ran & set(winners):
            continue
        run += 1
        top = max(np.nan_to_num(c.value(section, m, metric), nan=-1.0) for m in winners)
        other = np.nan_to_num(c.value(section, loser, metric), nan=-1.0)
        if top < 0 and other < 0:
            continue
        outcomes.append((key, top, other))
    types = "/".join(filter_types)
    if not run:
        return UNTESTABLE, f"no {types} rows with {'/'.join(winners)} and {loser} both run"
    if not outcomes:
        return UNTESTABLE, f"neither reaches the recall in any {types} section"
    text = ", ".join(f"{_label(k)} {_num(t)} vs {_num(o)}" for k, t, o in outcomes)
    verdict = HOLDS if all(t > o for _, t, o in outcomes) else FAILS
    return verdict, f"{'/'.join(winners)} vs {loser} ({metric}): {text}"


def top_fraction(
    c: Claims, method: str, filter_types: list[str], metric: str, fraction: float
) -> tuple[str, str]:
    """In most sections where `method` ran, it ranks in the top `fraction` of the roster
    (methods not reaching the recall rank last); baselines are shown beside."""
    ours = c.resolve(method)
    if ours is None:
        return UNTESTABLE, c.missing([method])
    ranks = []
    for key, section in c.sections(filter_types):
        if ours not in set(section["method"]):
            continue
        ranked = section.dropna(subset=[metric]).sort_values(metric, ascending=False)["method"].tolist()
        if len(section) < 2 or not ranked:
            continue
        rank = ranked.index(ours) + 1 if ours in ranked else len(section)
        ranks.append((key, rank, len(section), c.beside(key, metric)))
    if not ranks:
        return UNTESTABLE, f"no section where {ours} and another paper method ran, one reaching the recall"
    good = sum(rank <= math.ceil(fraction * n) for _, rank, n, _ in ranks)
    text = ", ".join(f"{_label(k)} rank {r}/{n}{beside}" for k, r, n, beside in ranks)
    return (HOLDS if good > len(ranks) / 2 else FAILS), f"{ours}: {text}"


def build_spread(
    c: Claims, paper_factor: float, band: list[float], max_abs_correlation: float
) -> tuple[str, str]:
    """Build time max/min over the roster within `band` (the paper's "up to" factor) and
    |Spearman(build s, QPS@0.9)| below `max_abs_correlation`; an undefined correlation is
    not testable."""
    per_method = c.board.groupby("method").agg(
        build=("build_seconds", "median"), qps=("qps_at_0.9", "median")
    )
    per_method = per_method[per_method["build"] > 0]
    if len(per_method) < 3:
        return UNTESTABLE, "fewer than three of the paper's methods with a build time"
    spread = per_method["build"].max() / per_method["build"].min()
    both = per_method.dropna()
    rho = both["build"].rank().corr(both["qps"].rank()) if len(both) >= 3 else math.nan
    in_band = band[0] <= spread <= band[1]
    text = (
        f"build time spread {spread:.1f}x over {len(per_method)} methods ({'in' if in_band else 'outside'} "
        f"the band {band[0]:g}..{band[1]:g}x for the paper's 'up to {paper_factor:g}x'); "
        f"Spearman(build s, QPS@0.9) = {rho:.2f} over {len(both)} methods"
    )
    if not in_band:
        return FAILS, text
    if math.isnan(rho):
        return UNTESTABLE, text + " (undefined: needs three methods reaching 0.9 with differing values)"
    return (HOLDS if abs(rho) < max_abs_correlation else FAILS), text


def largest(c: Claims, methods: list[str], metric: str) -> tuple[str, str]:
    """`methods` have the largest `metric` of the roster."""
    ours = [c.resolve(m) for m in methods]
    if None in ours:
        return UNTESTABLE, c.missing([m for m, o in zip(methods, ours, strict=True) if o is None])
    points = ok_points(c.frame)
    points = points[points["method"].isin(c.paper_methods())]
    per_method = points.groupby("method")[metric].max().dropna().sort_values(ascending=False)
    if len(per_method) <= len(ours) or not set(ours) <= set(per_method.index):
        return UNTESTABLE, f"needs {metric} of {', '.join(ours)} and at least one other paper method"
    top = per_method.index[: len(ours)].tolist()
    text = ", ".join(f"{m} {_num(v)}" for m, v in per_method.head(len(ours) + 2).items())
    return (HOLDS if set(top) == set(ours) else FAILS), f"largest {metric}: {text}"


def max_recall_below(c: Claims, methods: list[str] | str, value: float, min_items: int) -> tuple[str, str]:
    """At >= `min_items` items, `methods` (or, with "any", some roster method) stay below `value`."""
    rows = ok_points(c.frame)
    rows = rows[(rows["dataset_count"] >= min_items) & rows["method"].isin(c.paper_methods())]
    if rows.empty:
        return UNTESTABLE, f"no run of the paper's methods on a dataset of >= {min_items:,} items"
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
    """Per section, the roster's order by `metric` at every other k agrees with the base k."""
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
            f"needs runs at k = {c.k} and another k with three or more paper methods reaching the recall",
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
    """Per roster method and filter type, `metric` at the lowest filtered bucket over the highest;
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
    if math.isinf(value):
        return "only it reaches"
    return "only ACORN reaches" if value == 0 else f"{value:.2f}x"


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


def with_history(verdict: Verdict, claim: dict[str, Any]) -> Verdict:
    """`verdict` with the claim's form history as one line ("date: change (why)")."""
    entries = claim.get("history", [])
    text = "; ".join(f"{e['date']}: {e['change']} ({e['why']})" for e in entries)
    return replace(verdict, history=text)


def compare_with_paper(frame: pd.DataFrame, resamples: int = 5, seed: int = 0) -> list[Verdict]:
    """Every claim of the shipped claims file, evaluated on the rows of the experiments behind
    the figure(s) it cites (pooled over selectivity buckets where the paper's figure pools its
    query set; "not testable here" where none of those experiments was run), then re-evaluated
    on `resamples` seeded bootstrap resamples (`claim_resample.resample`) for its robustness."""
    from fanns_bench.report.claim_resample import PER_QUERY, resample, robustness
    from fanns_bench.report.paper_figures import recall_weights

    spec = load_claims()
    frame = frame.drop(columns=[c for c in UNUSED if c in frame])
    frame = frame.assign(recall_weight=recall_weights(frame))  # before resampling: the query set's
    verdicts = verdicts_on(frame.drop(columns=list(PER_QUERY), errors="ignore"), spec)
    rng = np.random.default_rng(seed)
    replicates = [
        verdicts_on(resample(frame, rng).drop(columns=list(PER_QUERY), errors="ignore"), spec)
        for _ in range(resamples)
    ]
    return [
        with_history(
            replace(
                v,
                robustness=robustness(
                    [r[i].verdict for r in replicates], [r[i].evidence for r in replicates]
                ),
            ),
            claim,
        )
        for i, (v, claim) in enumerate(zip(verdicts, spec["claims"], strict=True))
    ]


def verdicts_on(frame: pd.DataFrame, spec: dict[str, Any]) -> list[Verdict]:
    """Each claim of `spec` on the rows of the figures it cites, with the scope in its evidence."""
    from fanns_bench.report.paper_figures import figures_citing

    views: dict[tuple[str, ...], tuple[Claims | None, str]] = {}
    verdicts = []
    for claim in spec["claims"]:
        figures = figures_citing(spec, claim["source"])
        key = tuple(f.figure for f in figures)
        if key not in views:
            views[key] = _view(frame, figures, spec)
        claims, scope = views[key]
        if claims is None:
            verdicts.append(Verdict(claim["id"], claim["source"], claim["text"], UNTESTABLE, scope))
            continue
        (verdict,) = claims.evaluate([claim])
        verdicts.append(replace(verdict, evidence=f"{verdict.evidence} [{scope}]"))
    return verdicts


def _view(frame: pd.DataFrame, figures: list, spec: dict[str, Any]) -> tuple[Claims | None, str]:
    """The Claims evaluator over the rows of `figures`' experiments and how it was scoped, or
    None and what run would test the claim when those rows are absent (never all rows)."""
    from fanns_bench.report.paper_figures import pooled_frame

    if not figures:
        return None, "cites none of the paper's figures that we draw"
    rows = pd.concat([f.rows(frame) for f in figures])
    rows = rows[~rows.index.duplicated()]
    names = ", ".join(sorted({f"{prefix}*" for f in figures for prefix in f.experiments}))
    if rows.empty:
        numbers = ", ".join(f"Fig. {f.figure}" for f in figures)
        runs = sorted({run for f in figures for run in f.run})
        how = "; ".join(f"fanns-bench run experiment={r}" for r in runs) or f"an experiment named {names}"
        return None, f"no rows of {names} ({numbers}) here; tested by: {how}"
    if any(f.panels in ("filter_type", "k") for f in figures):
        return Claims(pooled_frame(rows), spec), f"{names}, each filter type's queries pooled"
    return Claims(rows, spec), f"{names}, per selectivity bucket"
