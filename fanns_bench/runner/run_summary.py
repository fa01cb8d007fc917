"""The summary `fanns-bench run` prints at the end of a sweep.

Read as a newcomer would: every number says what it is. First the dataset (items, model,
dimension, archives) and the machine the rows were measured on; per method then the points by
status and the answers' quality (noisy points, short answers, ids outside the filter), then
per (k, query threads) and filter type the best QPS at recall >= 0.9 per selectivity bucket
with the highest recall reached in that bucket beside it, then what failed and why.
"""

from __future__ import annotations

import math

import pandas as pd

from fanns_bench.data.dataset_facts import dataset_text
from fanns_bench.report.frame import machines, threads_label
from fanns_bench.report.pareto import best_at_recall
from fanns_bench.report.quality import (
    NOT_RECORDED,
    STATUSES,
    answer_quality,
    flag,
    noise_lines,
    recorded,
    status_counts,
)
from fanns_bench.report.render import fmt_recall, text_table
from fanns_bench.results.attempts import error_path
from fanns_bench.runner.run import SweepOutcome

TARGET_RECALL = 0.9
UNFILTERED = "none"
NOISY_MARK = "*"


def bucket_column(filter_type: str, bucket: float) -> str:
    """Column title of a selectivity bucket; the unfiltered queries are named as such."""
    return "unfiltered" if filter_type == UNFILTERED else f"s={bucket:g}"


def qps_table(
    rows: pd.DataFrame, target: float = TARGET_RECALL, empty_buckets: tuple[float, ...] = ()
) -> pd.DataFrame:
    """Rows of one (k, threads, filter type): per method and bucket, a cell
    "best QPS at recall >= target (max recall in the bucket)". Every bucket with an ok row
    keeps its column ("-" where no config reaches `target`, the status where a method has no
    ok point there, e.g. "unsupported"); the QPS is marked `NOISY_MARK`
    when the point giving it is flagged noisy. `empty_buckets` (the workload found no query
    for them) get a column that says so."""
    ok = rows[rows["status"] == "ok"].assign(noisy=flag(rows, "noisy"))
    methods = sorted(rows["method"].unique())
    buckets = sorted({*ok["selectivity_bucket"].dropna().unique(), *empty_buckets})
    filter_type = str(rows["filter_type"].iloc[0])
    table = pd.DataFrame({"method": methods})
    for bucket in buckets:
        if bucket in empty_buckets:
            table[bucket_column(filter_type, bucket)] = "no queries"
            continue
        points = ok[ok["selectivity_bucket"] == bucket]
        statuses = rows[rows["selectivity_bucket"] == bucket].groupby("method")["status"].first()
        top = points.groupby("method")["recall"].max()
        best = best_at_recall(points, target, keys=["method"]).set_index("method")
        cells = []
        for method in methods:
            if method not in top.index:  # no ok point here: say why (unsupported, failed, invalid)
                cells.append(str(statuses.get(method, "")))
                continue
            qps = _qps_cell(best.loc[method]) if method in best.index else "-"
            cells.append(f"{qps} ({fmt_recall(top[method])})")
        table[bucket_column(filter_type, bucket)] = cells
    return table


def empty_buckets(buckets: pd.DataFrame, filter_type: str) -> tuple[float, ...]:
    """The buckets of `filter_type` for which the workload found no query (see the shortfall)."""
    if buckets.empty or not {"filter_type", "selectivity_bucket", "n_queries"} <= set(buckets):
        return ()
    empty = buckets[(buckets["filter_type"] == filter_type) & (buckets["n_queries"] == 0)]
    return tuple(float(b) for b in empty["selectivity_bucket"])


def _qps_cell(point: pd.Series) -> str:
    qps = float(point["qps"])
    text = f"{qps:,.0f}" if qps >= 10 else f"{qps:.3g}"
    return text + (NOISY_MARK if point["noisy"] else "")


def method_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Per method: points by status, noisy ok points, short answers and filter violations."""
    counts = status_counts(rows)
    quality = answer_quality(rows)
    table = counts.astype(object)
    table["noisy"] = _counts(quality["noisy"], recorded(rows, "noisy"))
    short = [
        f"{s:,.0f} of {q:,.0f} queries" if s else "0"
        for s, q in zip(quality["short_queries"], quality["queries"], strict=True)
    ]
    table["short answers"] = short if recorded(rows, "short_queries") else NOT_RECORDED
    rates = quality["violation_rate"]
    table["ids outside filter"] = (
        [_rate(r) for r in rates] if recorded(rows, "violation_rate") else NOT_RECORDED
    )
    return table.reset_index()


def _counts(values: pd.Series, known: bool) -> list[str]:
    return [NOT_RECORDED if not known else "-" if math.isnan(v) else f"{v:.0f}" for v in values]


def _rate(value: float) -> str:
    if math.isnan(value):
        return "-"
    return "0" if value == 0 else f"{value:.2%}" if value >= 1e-4 else f"{value:.1e}"


def _print_table(table: pd.DataFrame) -> None:
    """`table` as fixed-width text: the method column left-aligned, the numbers right."""
    cells = [[str(value) for value in row] for row in table.itertuples(index=False)]
    print(text_table(list(table.columns), cells, set(range(1, len(table.columns)))))


def status_text(rows: pd.DataFrame) -> str:
    counts = rows["status"].value_counts()
    order = [s for s in STATUSES if s in counts] + sorted(set(counts.index) - set(STATUSES))
    return ", ".join(f"{counts[s]} {s}" for s in order)


def print_summary(outcome: SweepOutcome) -> None:
    rows = outcome.rows
    print()
    print(
        f"results: {outcome.results_dir.resolve()}  ({len(rows)} points"
        f"{': ' + status_text(rows) if len(rows) else ''}; "
        f"{outcome.executed_jobs} build{'' if outcome.executed_jobs == 1 else 's'} run now)"
    )
    print(f"dataset: {dataset_text(outcome.dataset) if outcome.dataset else 'not recorded'}")
    if rows.empty and outcome.waiting:  # a run stopped before any row (`runner.stop_after_process`)
        print(outcome.waiting)
        return
    print(f"machine: {machines(rows)}")
    for line in noise_lines(rows):
        print(line)
    print(
        "\nPer method: points by status. noisy: ok points whose repetitions disagree or that ran "
        "under load.\nshort answers: queries given fewer than k ids although at least k items "
        "match.\nids outside filter: the largest share of returned ids that break the filter "
        "(approximate-filter methods; others get `invalid` points)."
    )
    _print_table(method_table(rows))
    for (k, threads), group in rows.groupby(["k", "threads"], sort=True):  # never pooled
        print(
            f"\nk={k}, {threads_label(threads)}. Each cell: QPS end to end "
            f"(queries/s, filter preparation included) of the best config reaching recall@{k} >= "
            f"{TARGET_RECALL},\nthen in brackets the highest recall@{k} any config reached in that "
            f'bucket. "-": no config reaches {TARGET_RECALL}; {NOISY_MARK}: that point is noisy; '
            "s: selectivity bucket (share of items matching)."
        )
        for filter_type, part in group.groupby("filter_type", sort=True):
            name = "unfiltered queries" if filter_type == UNFILTERED else f"filter {filter_type}"
            methods = part["method"].nunique()
            print(f"{name} ({methods} method{'' if methods == 1 else 's'}):")
            _print_table(qps_table(part, empty_buckets=empty_buckets(outcome.buckets, filter_type)))
    print_problems(outcome)
    if not outcome.buckets.empty:
        print("\nworkload buckets (achieved selectivity; shortfall: missing or left-out queries):")
        buckets = outcome.buckets.drop(columns="note").rename(
            columns={"selectivity_bucket": "bucket", "n_queries": "queries"}
        )
        print(buckets.to_string(index=False, na_rep="-", float_format=lambda v: f"{v:.3g}"))
    for note in outcome.shortfalls:
        print(f"bucket shortfall: {note}")
    print(f"combined Parquet: {(outcome.results_dir / 'results.parquet').resolve()}")
    if outcome.waiting:
        print(outcome.waiting)


def print_problems(outcome: SweepOutcome) -> None:
    """One line per (status, method, filter type) that is not ok: how many points, the
    reasons (first one, and how many others), and the traceback file of a failed point."""
    rows = outcome.rows
    bad = rows[rows["status"] != "ok"]
    if bad.empty:
        return
    print()
    for (status, method, filter_type), group in bad.groupby(["status", "method", "filter_type"], sort=True):
        reasons = group["reason"].fillna("no reason recorded").astype(str)
        distinct = reasons.unique()
        more = f" (+{len(distinct) - 1} other reasons)" if len(distinct) > 1 else ""
        points = f"{len(group)} point{'' if len(group) == 1 else 's'}"
        line = f"{status}: {method} on {filter_type} ({points}): {distinct[0][:200]}{more}"
        files = [error_path(outcome.results_dir, key) for key in group["key"]]
        existing = [path for path in files if path.exists()]
        if existing:
            line += f"; traceback: {existing[0]}"
        print(line)
