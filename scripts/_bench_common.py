"""Scaffolding shared by the method benchmarks (`bench_engine_methods.py`, `bench_library_methods.py`).

Dataset: the project's synthetic builder (clustered, Zipf-sized clusters, unit vectors, ip).
Filters: `category == v` for the value whose share is closest to each target selectivity.
Ground truth: exact top-k over the matching items. Timing: the build once; each search
point one untimed warm-up batch, then one timed batch (time.perf_counter) on one thread.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from fanns_bench.data.dataset import Dataset
from fanns_bench.data.synthetic import build as build_synthetic
from fanns_bench.filters.predicates import Eq
from fanns_bench.methods.base import FilterBatch
from fanns_bench.scoring import exact_filtered_top_k

SHARES = (("~1%", 0.01), ("~10%", 0.10))
K = 10


def bench_dataset(path: Path, name: str, count: int, queries: int, dimension: int) -> Dataset:
    """The synthetic benchmark dataset (40 categories over 100 clusters, seed 0)."""
    return build_synthetic(
        path,
        name,
        count=count,
        queries=queries,
        dimension=dimension,
        latent_dimension=24,
        clusters=100,
        categories=40,
        seed=0,
    )


def value_near(dataset: Dataset, share: float) -> tuple[str, float]:
    """The category value whose share of the items is closest to `share` (log scale)."""
    values, counts = np.unique(dataset.attributes.column("category").to_pylist(), return_counts=True)
    best = int(np.argmin(np.abs(np.log(counts / dataset.count) - np.log(share))))
    return str(values[best]), counts[best] / dataset.count


def selectivity_batches(dataset: Dataset, queries: np.ndarray) -> dict[str, tuple[float, FilterBatch]]:
    """bucket label -> (selectivity, one `category == v` filter for every query), per `SHARES`."""
    batches = {}
    for label, share in SHARES:
        value, selectivity = value_near(dataset, share)
        predicate = Eq("category", value)
        ids = dataset.attributes.ids(predicate)
        batches[label] = (
            selectivity,
            FilterBatch([predicate] * len(queries), [ids] * len(queries), dataset.count),
        )
    return batches


def recall(
    dataset: Dataset, queries: np.ndarray, filters: FilterBatch, found: np.ndarray, k: int = K
) -> float:
    """Recall@k against the exact filtered top-k."""
    hits = total = 0
    for row, ids in enumerate(filters.match_ids):
        truth = exact_filtered_top_k(queries[row], dataset.vectors, ids, k, dataset.metric)[0]
        hits += len(set(truth.tolist()) & set(found[row].tolist()))
        total += len(truth)
    return hits / total


def measure(
    method: Any, dataset: Dataset, queries: np.ndarray, batches: dict, points: list[dict]
) -> list[dict]:
    """One row per search point and bucket: method, params, bucket, selectivity, recall, qps."""
    rows = []
    for params in points:
        for label, (selectivity, filters) in batches.items():
            method.search(queries, filters, K, **params)  # warm-up, untimed
            started = time.perf_counter()
            found = method.search(queries, filters, K, **params)
            seconds = time.perf_counter() - started
            rows.append(
                {
                    "method": method.name,
                    "params": params,
                    "bucket": label,
                    "selectivity": selectivity,
                    "recall": recall(dataset, queries, filters, found),
                    "qps": len(queries) / seconds,
                }
            )
    return rows


def run_method(
    method: Any, dataset: Dataset, queries: np.ndarray, batches: dict, points: list[dict]
) -> tuple[float, int, list[dict]]:
    """Build (timed, with the method's threads), then search on one thread; always close.

    Returns build seconds, index bytes and the `measure` rows."""
    try:
        started = time.perf_counter()
        method.build(dataset)
        build_seconds = time.perf_counter() - started
        index_bytes = method.memory_bytes()
        method.threads = 1
        return build_seconds, index_bytes, measure(method, dataset, queries, batches, points)
    finally:
        method.close()
