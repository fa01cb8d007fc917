"""Recall@10 and QPS of the library methods at ~1% and ~10% selectivity (one quick run).

Usage:
    python scripts/bench_library_methods.py [--count 20000] [--dimension 128] [--queries 200]
        [--methods hnswlib,qdrant_hnsw,...] [--workdir /tmp/fanns-library-bench]

Methods (labels): hnswlib, qdrant_hnsw, "qdrant_hnsw (graph)", "qdrant_acorn (graph)", lancedb,
usearch_partition, usearch_postfilter, kannolo_acorn1, kannolo_acorn_gamma (each needs its
extra installed). Dataset: the project's
synthetic builder (clustered, Zipf-sized clusters, unit vectors, ip), as in
`bench_engine_methods.py`. Filters: `category == v` for the value whose share is closest to
1% and to 10%. Ground truth: exact top-10 over the matching items. Build with every core;
search with one thread: one untimed warm-up batch, then one timed batch (time.perf_counter).
Prints a markdown table (and build seconds / index bytes per method).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
from _bench_common import bench_dataset, run_method, selectivity_batches

from fanns_bench.methods.registry import get_method

QDRANT = {"m": 16, "ef_construct": 100}
ACORN = {"acorn_max_selectivity": 1.0}
# label -> (method, build params, [search params]); two points each, a fast and a generous one.
# qdrant at full_scan_threshold_kb 10000 (its default) scans these filters exactly; 10 forces
# the filterable graph (and lets ACORN run).
POINTS: dict[str, tuple[str, dict, list[dict]]] = {
    "hnswlib": ("hnswlib", {"M": 32, "ef_construction": 100}, [{"ef": 32}, {"ef": 128}]),
    "qdrant_hnsw": ("qdrant_hnsw", QDRANT, [{"hnsw_ef": 32}, {"hnsw_ef": 128}]),
    "qdrant_hnsw (graph)": (
        "qdrant_hnsw",
        {**QDRANT, "full_scan_threshold_kb": 10},
        [{"hnsw_ef": 32}, {"hnsw_ef": 128}],
    ),
    "qdrant_acorn (graph)": (
        "qdrant_acorn",
        {**QDRANT, "full_scan_threshold_kb": 10},
        [{"hnsw_ef": 32, **ACORN}, {"hnsw_ef": 128, **ACORN}],
    ),
    "lancedb": (
        "lancedb",
        {"index_type": "IVF_HNSW_SQ", "target_partition_size": 20000, "m": 16, "ef_construction": 100},
        [{"ef": 32, "nprobes": 1}, {"ef": 128, "nprobes": 1}],
    ),
    "usearch_partition": (
        "usearch_partition",
        {"connectivity": 32, "expansion_add": 100, "attributes": ["category"]},
        [{"ef": 32}, {"ef": 128}],
    ),
    "usearch_postfilter": (
        "usearch_postfilter",
        {"connectivity": 32, "expansion_add": 100},
        [{"ef": 64, "oversample": 1.0}, {"ef": 64, "oversample": 3.0}],
    ),
    "kannolo_acorn1": (
        "kannolo_acorn1",
        {"m": 32, "ef_construction": 100},
        [{"ef_search": 32}, {"ef_search": 128}],
    ),
    "kannolo_acorn_gamma": (
        "kannolo_acorn_gamma",
        {"m": 32, "ef_construction": 100, "gamma": 4},
        [{"ef_search": 32}, {"ef_search": 128}],
    ),
}


def bench_method(label: str, dataset, queries, batches) -> tuple[dict, list[dict]]:
    name, build_params, points = POINTS[label]
    method = get_method(name)(metric=dataset.metric, threads=os.cpu_count() or 1, **build_params)
    build_seconds, index_bytes, rows = run_method(method, dataset, queries, batches, points)
    return {"build_s": build_seconds, "index_bytes": index_bytes}, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--dimension", type=int, default=128)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--methods", default=",".join(POINTS), help="comma-separated labels")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/fanns-library-bench"))
    args = parser.parse_args()
    labels = [n for n in args.methods.split(",") if n]
    unknown = set(labels) - set(POINTS)
    if unknown:
        parser.error(f"unknown methods {sorted(unknown)}; choose from {sorted(POINTS)}")

    dataset = bench_dataset(
        args.workdir / f"synthetic_{args.count}_{args.dimension}",
        "library_bench",
        args.count,
        args.queries,
        args.dimension,
    )
    queries = np.ascontiguousarray(dataset.queries[: args.queries])
    batches = selectivity_batches(dataset, queries)
    print(
        f"dataset: synthetic {dataset.count} x {dataset.dimension} (ip), {len(queries)} queries, "
        f"k=10, 1 search thread, build threads {os.cpu_count()}"
    )
    print("| method | params | selectivity | recall@10 | QPS |")
    print("|---|---|---|---|---|")
    builds = {}
    for label in labels:
        builds[label], rows = bench_method(label, dataset, queries, batches)
        for row in rows:
            params = ", ".join(f"{k}={v}" for k, v in row["params"].items())
            print(
                f"| {label} | {params} | {row['bucket']} ({row['selectivity']:.2%}) "
                f"| {row['recall']:.3f} | {row['qps']:.0f} |",
                flush=True,
            )
    print("\n| method | build s | index MB |")
    print("|---|---|---|")
    for label, built in builds.items():
        print(f"| {label} | {built['build_s']:.1f} | {built['index_bytes'] / 1e6:.1f} |")


if __name__ == "__main__":
    main()
