"""Published numbers (`published.csv`) side by side with ours where the configuration matches.

A published row matches our leaderboard rows with the same dataset, filter type, k and method
(our registry name); each matching (selectivity bucket, threads) gives one comparison row.
"""

from __future__ import annotations

import math
from importlib.resources import files
from pathlib import Path

import pandas as pd

from fanns_bench.errors import ResultsError
from fanns_bench.report.frame import bucket_label, threads_label
from fanns_bench.report.render import DASH, fmt_number, fmt_recall, latex_table, markdown_table
from fanns_bench.report.tables import LEVELS, qps_column

COLUMNS = [
    "dataset", "filter_type", "k", "method", "paper_method",
    "quantity", "relation", "value", "claim", "source",
]  # fmt: skip
QUANTITIES = ("max_recall", *map(qps_column, LEVELS))
RELATIONS = ("<=", ">=", "=")
NO_MATCH = "no matching run"
HEADERS = [
    "dataset", "filter", "k", "method", "published", "source",
    "our run", "our max recall", "our QPS @ 0.9", "our QPS @ 0.95", "verdict",
]  # fmt: skip
QUANTITY_NAMES = {"max_recall": "max recall", **{qps_column(v): f"QPS @ {v:g}" for v in LEVELS}}
TOLERANCE = 1e-9


def load_published(path: Path | None = None) -> pd.DataFrame:
    """The published table (default: the one shipped in this package), checked."""
    source = path if path is not None else files("fanns_bench.report") / "published.csv"
    try:
        with source.open(encoding="utf-8") as handle:
            table = pd.read_csv(handle, dtype={"k": "int64", "value": "float64"})
    except (OSError, ValueError) as error:
        raise ResultsError(f"{source}: unreadable published table ({error})") from None
    missing = [c for c in COLUMNS if c not in table.columns]
    if missing:
        raise ResultsError(f"{source}: missing columns {missing}; expected {COLUMNS}")
    for column, allowed in (("quantity", QUANTITIES), ("relation", RELATIONS)):
        bad = sorted(set(table[column]) - set(allowed))
        if bad:
            raise ResultsError(f"{source}: {column} {bad} not one of {list(allowed)}")
    return table[COLUMNS]


def published_comparison(
    frame: pd.DataFrame, leaderboard: pd.DataFrame, published: pd.DataFrame
) -> pd.DataFrame:
    """One row per (published row, our matching bucket/threads); `our_run` says
    "no matching run" (or why our runs are missing) when nothing matches."""
    keys = ["dataset", "filter_type", "k", "method"]
    rows = []
    for claim in published.itertuples(index=False):
        ours = leaderboard
        for key in keys:
            ours = ours[ours[key] == getattr(claim, key)]
        base = {column: getattr(claim, column) for column in COLUMNS}
        if ours.empty:
            rows.append({**base, "our_run": _why_missing(frame, claim), "verdict": DASH})
            continue
        for _, our in ours.iterrows():
            stats = {q: our[q] for q in QUANTITIES}
            run = f"{bucket_label(our['selectivity_bucket'])}, {threads_label(our['threads'])}"
            verdict = _verdict(stats[claim.quantity], claim.relation, claim.value)
            rows.append({**base, **stats, "our_run": run, "verdict": verdict})
    return pd.DataFrame(rows, columns=[*COLUMNS, "our_run", *QUANTITIES, "verdict"])


def _why_missing(frame: pd.DataFrame, claim) -> str:
    same = frame[
        (frame["dataset"] == claim.dataset)
        & (frame["filter_type"] == claim.filter_type)
        & (frame["k"] == claim.k)
        & (frame["method"] == claim.method)
    ]
    if same.empty:
        return NO_MATCH
    statuses = ", ".join(sorted(set(same["status"])))
    return f"{NO_MATCH} that succeeded ({statuses})"


def _verdict(ours: float, relation: str, published: float) -> str:
    if ours is None or math.isnan(ours):
        return "not reached"
    if relation == "=":
        return f"ours / published = {ours / published:.2g}"
    holds = ours <= published + TOLERANCE if relation == "<=" else ours >= published - TOLERANCE
    return "consistent" if holds else "differs"


def _cells(table: pd.DataFrame) -> list[list[str]]:
    cells = []
    for row in table.to_dict("records"):
        value = row["value"]
        shown = fmt_recall(value) if row["quantity"] == "max_recall" else fmt_number(value)
        relation = {"<=": "≤", ">=": "≥", "=": "="}[row["relation"]]
        published = f"{QUANTITY_NAMES[row['quantity']]} {relation} {shown} ({row['claim']})"
        ours = [fmt_recall(row["max_recall"])] + [fmt_number(row[qps_column(v)]) for v in LEVELS]
        cells.append(
            [str(row[c]) for c in ("dataset", "filter_type", "k", "paper_method")]
            + [published, str(row["source"]), str(row["our_run"]), *ours, str(row["verdict"])]
        )
    return cells


NOTE = (
    "The seed paper reports results as figures only; the published column holds the numbers "
    "its text states. Our values are recall@k (micro-averaged) and QPS on our machine."
)


def comparison_markdown(table: pd.DataFrame) -> str:
    return NOTE + "\n\n" + markdown_table(HEADERS, _cells(table), {2, 7, 8, 9}) + "\n"


def comparison_latex(table: pd.DataFrame) -> str:
    caption = "Published results next to ours. " + NOTE
    return latex_table(HEADERS, _cells(table), {2, 7, 8, 9}, caption) + "\n"
