"""Measure one point: timed batch repetitions end to end and given the filter input, a
single-query latency pass, recall, and the returned ids.

Every repetition does the same work from the same inputs for every method:
- `qps` repetitions time `FilterBatch.of` + `prepare_filters` + `search` (a fresh batch
  each time, so nothing carries over);
- `qps_given_filter` repetitions time `search` alone, on filter input prepared beforehand.
Throughput is n_queries / median batch time; every repetition's time is kept.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from fanns_bench.errors import MethodError
from fanns_bench.filters.attribute_index import AttributeIndex, in_sorted
from fanns_bench.filters.predicates import Predicate
from fanns_bench.groundtruth import GroundTruth
from fanns_bench.methods.base import FilterBatch, Method
from fanns_bench.metrics import recall_paper, recall_per_query, recall_tie_aware


def checked_ids(method: Method, ids: Any, queries: int, k: int, count: int | None = None) -> np.ndarray:
    """The method's output as int64 (queries, k), or `MethodError` saying what was wrong:
    not integers, another shape, or (given the dataset's `count`) an id outside
    [0, count) that is not the -1 padding. The runner and the conformance suite both check
    every answer with it."""
    ids = np.asarray(ids)
    if ids.shape != (queries, k) or not np.issubdtype(ids.dtype, np.integer):
        raise MethodError(
            f"{method.name}.search returned {ids.dtype} of shape {ids.shape}; "
            f"expected integer ids of shape ({queries}, {k})"
        )
    ids = ids.astype(np.int64, copy=False)
    if count is not None and ids.size:
        outside = (ids < -1) | (ids >= count)
        if outside.any():
            row, column = np.argwhere(outside)[0]
            raise MethodError(
                f"{method.name}.search returned id {int(ids[row, column])} (query {int(row)}, rank "
                f"{int(column) + 1}); expected ids in [0, {count}) or -1 for padding"
            )
    return ids


def end_to_end(
    method: Method,
    queries: np.ndarray,
    predicates: Sequence[Predicate | None],
    attributes: AttributeIndex,
    k: int,
    params: dict[str, Any],
    count: int | None = None,
) -> tuple[np.ndarray, float, float]:
    """(ids, total seconds, filter-preparation seconds) of one batch from predicates to ids
    (`count`: the dataset's size, for `checked_ids`)."""
    start = time.perf_counter()
    prepared = method.prepare_filters(FilterBatch.of(predicates, attributes))
    ready = time.perf_counter()
    ids = method.search(queries, prepared, k, **params)
    seconds = time.perf_counter() - start
    return checked_ids(method, ids, len(queries), k, count), seconds, ready - start


def given_filter(
    method: Method,
    queries: np.ndarray,
    prepared: Any,
    k: int,
    params: dict[str, Any],
    count: int | None = None,
) -> float:
    """Seconds of one batch search with its filter input already prepared."""
    start = time.perf_counter()
    ids = method.search(queries, prepared, k, **params)
    seconds = time.perf_counter() - start
    checked_ids(method, ids, len(queries), k, count)
    return seconds


def filter_violations(ids: np.ndarray, match_ids: list[np.ndarray]) -> int:
    """How many returned ids (not -1) do not satisfy their query's filter."""
    bad = 0
    for row, allowed in zip(ids, match_ids, strict=True):
        returned = row[row >= 0]
        bad += int(len(returned) - in_sorted(returned, allowed).sum())
    return bad


def throughput(n_queries: int, seconds: list[float]) -> dict[str, float]:
    """QPS as n / median batch time, with mean and spread of the per-repetition rates."""
    rates = n_queries / np.asarray(seconds)
    return {
        "qps": float(n_queries / np.median(seconds)),
        "qps_mean": float(rates.mean()),
        "qps_std": float(rates.std(ddof=1)) if len(rates) > 1 else 0.0,
        "qps_best": float(rates.max()),
    }


def measure(
    method: Method,
    queries: np.ndarray,
    predicates: Sequence[Predicate | None],
    attributes: AttributeIndex,
    match_ids: list[np.ndarray],
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
    """The measured columns of a result row (`match_ids`: per query, for the metrics only)."""
    count = len(vectors)
    if warmup:
        end_to_end(method, queries, predicates, attributes, k, params, count)
    ids, batch_seconds, filter_seconds = None, [], []
    for _ in range(max(1, repetitions)):
        found, seconds, preparing = end_to_end(method, queries, predicates, attributes, k, params, count)
        ids = found if ids is None else ids
        batch_seconds.append(seconds)
        filter_seconds.append(preparing)
    stats = method.stats()
    prepared = method.prepare_filters(FilterBatch.of(predicates, attributes))
    search_seconds = [
        given_filter(method, queries, prepared, k, params, count) for _ in range(max(1, repetitions))
    ]
    latencies = [
        end_to_end(method, queries[i : i + 1], predicates[i : i + 1], attributes, k, params, count)[1]
        for i in range(min(latency_queries, len(queries)))
    ]
    latency_ms = np.asarray(latencies) * 1e3 if latencies else np.array([np.nan])
    given = throughput(len(queries), search_seconds)
    return {
        "recall": recall_paper(ids, truth, k),
        "recall_tie_aware": recall_tie_aware(ids, truth, k, queries, vectors, match_ids, metric),
        "recall_per_query": recall_per_query(ids, truth, k).astype(np.float32).tolist(),
        "filter_violations": filter_violations(ids, match_ids),
        **throughput(len(queries), batch_seconds),
        "qps_given_filter": given["qps"],
        "qps_given_filter_std": given["qps_std"],
        "batch_seconds": [float(s) for s in batch_seconds],
        "search_seconds": [float(s) for s in search_seconds],
        "filter_seconds": float(np.median(filter_seconds)),
        "latency_p50_ms": float(np.percentile(latency_ms, 50)),
        "latency_p95_ms": float(np.percentile(latency_ms, 95)),
        "latency_p99_ms": float(np.percentile(latency_ms, 99)),
        "distance_computations": stats.get("distance_computations"),
        "ids": ids.reshape(-1).tolist(),
    }
