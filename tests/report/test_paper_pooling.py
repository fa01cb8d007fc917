"""Pooled recall of the paper's per-filter-type figures: the paper's micro-average, sum of
hits over sum of min(k, |gt|) across every pooled query, not the mean of per-query recall."""

from __future__ import annotations

import pandas as pd
import pytest

from fanns_bench.report.paper_figures import attach_recall_weights, pool_buckets


def row(bucket: float, recall: float, n: int, **extra) -> dict:
    base = {
        "status": "ok", "method": "ung", "build_params": "{}", "search_params": "{}", "k": 10, "threads": 1,
        "filter_type": "EM", "selectivity_bucket": bucket, "n_queries": n, "recall": recall, "qps": 100.0,
        "qps_given_filter": 100.0, "build_seconds": 1.0, "index_bytes": 1, "build_peak_rss_bytes": 1,
    }  # fmt: skip
    return {**base, **extra}


def test_pooled_recall_weights_each_bucket_by_its_sum_of_min_k_gt():
    # bucket 0.001: 10 queries matching 2 items each (min(k, |gt|) = 2): 20 wanted, 20 hits;
    # bucket 0.1: 10 queries matching >= 10: 100 wanted, 50 hits -> 70 / 120, not (1.0 + 0.5) / 2
    rows = pd.DataFrame([row(0.001, 1.0, 10, recall_weight=20.0), row(0.1, 0.5, 10, recall_weight=100.0)])
    (point,) = pool_buckets(rows)[0].itertuples()
    assert point.recall == pytest.approx(70 / 120)


def test_queries_without_a_match_weigh_nothing_in_the_pooled_recall():
    nan = float("nan")
    rows = pd.DataFrame(
        [
            row(0.001, 1.0, 4, recall_per_query=[1.0, nan, nan, nan]),  # 1 query with ground truth
            row(0.1, 0.5, 4, recall_per_query=[0.5, 0.5, 0.5, 0.5]),
        ]
    )
    (point,) = pool_buckets(rows)[0].itertuples()
    assert point.recall == pytest.approx((1 * 1.0 + 4 * 0.5) / 5)  # query-weighted would give 0.75


def test_recall_weights_come_from_the_query_tables_the_run_kept(tmp_path):
    kept = tmp_path / "workloads" / "w"
    kept.mkdir(parents=True)
    table = pd.DataFrame(
        {"filter_type": ["EM"] * 3, "selectivity_bucket": [0.001, 0.001, 0.1], "match_count": [2, 30, 500]}
    )
    table.to_parquet(kept / "workload.parquet")
    frame = pd.DataFrame([row(0.001, 1.0, 2, workload_digest="w"), row(0.1, 1.0, 1, workload_digest="w")])
    frame = pd.concat([frame, pd.DataFrame([row(0.1, 1.0, 1, workload_digest="gone")])], ignore_index=True)
    weights = attach_recall_weights(frame, tmp_path)["recall_weight"].tolist()
    assert weights[:2] == [2 + 10, 10] and pd.isna(weights[2])
