"""The summary `fanns-bench run` prints at the end of a sweep."""

from __future__ import annotations

import pandas as pd

from fanns_bench.runner.run import SweepOutcome


def summary_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Per method x filter type x bucket: best recall, QPS at recall >= 0.9, and failures."""
    ok = rows[rows.status == "ok"]
    groups = ["method", "filter_type", "selectivity_bucket"]
    if ok.empty:
        return pd.DataFrame(columns=groups)
    best = ok.groupby(groups).agg(points=("key", "size"), max_recall=("recall", "max"))
    reached = ok[ok.recall >= 0.9].groupby(groups).qps.max().rename("qps_at_recall_0.9")
    return best.join(reached).reset_index()


def print_summary(outcome: SweepOutcome) -> None:
    rows = outcome.rows
    print()
    print(
        f"results: {outcome.results_dir.resolve()}  ({len(rows)} rows, "
        f"{outcome.executed_jobs} builds run now)"
    )
    with pd.option_context(
        "display.width", 160, "display.max_rows", 200, "display.float_format", "{:.3f}".format
    ):
        table = summary_table(rows)
        if not table.empty:
            print(table.to_string(index=False))
    bad = rows[rows.status != "ok"]
    for (method, status, reason), group in bad.groupby(["method", "status", "reason"]):
        print(f"{status}: {method} ({len(group)} points): {reason}")
    for note in outcome.shortfalls:
        print(f"unfilled bucket: {note}")
    print(f"combined Parquet: {(outcome.results_dir / 'results.parquet').resolve()}")
