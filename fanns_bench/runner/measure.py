"""Measure one point: timed batch repetitions, a single-query latency pass, recall."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from fanns_bench.errors import MethodError
from fanns_bench.groundtruth import GroundTruth
from fanns_bench.methods.base import FilterBatch, Method
from fanns_bench.metrics import recall_paper, recall_per_query, recall_tie_aware


def timed_search(
    method: Method, queries: np.ndarray, filters: FilterBatch, k: int, params: dict[str, Any]
) -> tuple[np.ndarray, float]:
    """One batch search and its wall time (`time.perf_counter`), with its output checked."""
    start = time.perf_counter()
    ids = method.search(queries, filters, k, **params)
    seconds = time.perf_counter() - start
    ids = np.asarray(ids)
    if ids.shape != (len(queries), k) or not np.issubdtype(ids.dtype, np.integer):
        raise MethodError(
            f"{method.name}.search returned {ids.dtype} of shape {ids.shape}; "
            f"expected integer ids of shape ({len(queries)}, {k})"
        )
    return ids.astype(np.int64, copy=False), seconds


def filter_violations(ids: np.ndarray, match_ids: list[np.ndarray]) -> int:
    """How many returned ids (not -1) do not satisfy their query's filter."""
    bad = 0
    for row, allowed in zip(ids, match_ids, strict=True):
        returned = row[row >= 0]
        bad += int(returned.size - np.isin(returned, allowed).sum())
    return bad


def measure(
    method: Method,
    queries: np.ndarray,
    filters: FilterBatch,
    truth: GroundTruth,
    vectors: np.ndarray,
    metric: str,
    k: int,
    params: dict[str, Any],
    *,
    repetitions: int,
    warmup: bool,
    latency_queries: int,
) -> dict[str, Any]:
    """The measured columns of a result row."""
    if warmup:
        timed_search(method, queries, filters, k, params)
    ids, batch_seconds = None, []
    for _ in range(max(1, repetitions)):
        found, seconds = timed_search(method, queries, filters, k, params)
        ids = found if ids is None else ids
        batch_seconds.append(seconds)
    stats = method.stats()
    latencies = [
        timed_search(method, queries[i : i + 1], filters.subset([i]), k, params)[1]
        for i in range(min(latency_queries, len(queries)))
    ]
    qps = len(queries) / np.asarray(batch_seconds)
    latency_ms = np.asarray(latencies) * 1e3 if latencies else np.array([np.nan])
    per_query = recall_per_query(ids, truth, k)
    return {
        "recall": recall_paper(ids, truth, k),
        "recall_tie_aware": recall_tie_aware(ids, truth, k, queries, vectors, filters.match_ids, metric),
        "recall_per_query": per_query.astype(np.float32).tolist(),
        "filter_violations": filter_violations(ids, filters.match_ids),
        "qps": float(qps.mean()),
        "qps_std": float(qps.std(ddof=1)) if len(qps) > 1 else 0.0,
        "qps_best": float(qps.max()),
        "batch_seconds": [float(s) for s in batch_seconds],
        "latency_p50_ms": float(np.percentile(latency_ms, 50)),
        "latency_p95_ms": float(np.percentile(latency_ms, 95)),
        "latency_p99_ms": float(np.percentile(latency_ms, 99)),
        "distance_computations": stats.get("distance_computations"),
    }
