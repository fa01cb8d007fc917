"""The summary `fanns-bench run` prints at the end of a sweep."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fanns_bench.runner.run import SweepOutcome

TARGET_RECALL = 0.9


def summary_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Per method: rows by status, max recall, and QPS at recall >= 0.9 per selectivity bucket.

    A bucket's cell is the median over filter types of the best QPS reaching the target
    recall ("-" where none does); the full breakdown is in `fanns-bench report`.
    """
    counts = rows.pivot_table(index="method", columns="status", values="key", aggfunc="size", fill_value=0)
    ok = rows[rows.status == "ok"]
    table = counts.join(ok.groupby("method").recall.max().rename("max recall"))
    reached = ok[ok.recall >= TARGET_RECALL]
    best = reached.groupby(["method", "selectivity_bucket", "filter_type"]).qps.max()
    if not best.empty:
        per_bucket = best.groupby(["method", "selectivity_bucket"]).median().unstack()
        per_bucket.columns = [f"QPS@{TARGET_RECALL} s={b:g}" for b in per_bucket.columns]
        table = table.join(per_bucket)
    return table.reset_index()


def _cell(value: object) -> str:
    if isinstance(value, float):
        return "-" if np.isnan(value) else f"{value:,.0f}" if value >= 10 else f"{value:.3f}"
    return str(value)


def print_summary(outcome: SweepOutcome) -> None:
    rows = outcome.rows
    print()
    print(
        f"results: {outcome.results_dir.resolve()}  ({len(rows)} rows, "
        f"{outcome.executed_jobs} builds run now)"
    )
    for (k, threads), group in rows.groupby(["k", "threads"], sort=True):  # never pooled
        table = summary_table(group)
        print(
            f"\nk={k}, {threads} query thread{'' if threads == 1 else 's'}; QPS end to end (filters included)"
        )
        print(table.to_string(index=False, na_rep="-", formatters={c: _cell for c in table.columns}))
    bad = rows[rows.status != "ok"]
    for (method, status, filter_type), group in bad.groupby(["method", "status", "filter_type"]):
        print(f"{status}: {method} on {filter_type} ({len(group)} points): {group.reason.iloc[0][:200]}")
    if not outcome.buckets.empty:
        print("workload buckets (achieved selectivity; shortfall: missing or left-out queries):")
        buckets = outcome.buckets.drop(columns="note").rename(
            columns={"selectivity_bucket": "bucket", "n_queries": "queries"}
        )
        print(buckets.to_string(index=False, na_rep="-", float_format=lambda v: f"{v:.3g}"))
    for note in outcome.shortfalls:
        print(f"bucket shortfall: {note}")
    print(f"combined Parquet: {(outcome.results_dir / 'results.parquet').resolve()}")
