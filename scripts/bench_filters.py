"""Predicate evaluation cost: the harness's attribute index vs a table scan vs qdrant-edge's
own filtered search, per query, on the shipped arXiv sample at 1 % selectivity.

The index is what every id-set method pays inside `qps` (fanns-bench's fair-measurement rule);
this shows it is small next to a real engine's whole filtered search.
Usage: python scripts/bench_filters.py [--selectivity 0.01] [--queries 50]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import yaml

from fanns_bench.data.builders import ensure_dataset
from fanns_bench.workloads.workload import WorkloadSpec, generate_workload


def per_query_us(function, items: list) -> float:
    """Median microseconds of `function(item)` over the items (after one warm-up pass)."""
    for item in items:
        function(item)
    times = []
    for item in items:
        start = time.perf_counter()
        function(item)
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1e6)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--selectivity", type=float, default=0.01)
    parser.add_argument("--queries", type=int, default=50)
    args = parser.parse_args()
    dataset = ensure_dataset(
        "arxiv_sample", "arxiv_sample", {}, Path("datasets"), directory="arxiv_sample.built"
    )
    config = yaml.safe_load(Path("configs/workload/arxiv_buckets.yaml").read_text())
    config |= {"selectivities": [args.selectivity], "queries_per_bucket": args.queries}
    config["filters"] = [f for f in config["filters"] if f["type"] in ("EM", "R", "EMIS", "EMIS+R")]
    workload = generate_workload(WorkloadSpec.from_config(config), dataset)
    index = dataset.attribute_index
    print(f"attribute index: built in {index.build_seconds * 1e3:.1f} ms, {index.nbytes() / 2**20:.2f} MiB")
    qdrant = None
    try:
        from fanns_bench.methods.qdrant.method import QdrantHNSW

        qdrant = QdrantHNSW(dataset.metric, threads=1)
        qdrant.build(dataset)
    except ImportError:
        print("qdrant-edge-py not installed: its column is left out (pip install 'fanns-bench[qdrant]')")
    queries = np.asarray(dataset.queries, dtype=np.float32)
    header = ("filter", "n", "selectivity", "index us", "table scan us", "qdrant search us")
    print("{:8} {:>4} {:>11} {:>9} {:>13} {:>16}".format(*header))
    for filter_type, _, rows in workload.groups():
        predicates = [workload.predicates[r] for r in rows]
        pairs = list(zip(queries[workload.table["query_index"].to_numpy()[rows]], predicates, strict=True))
        indexed = per_query_us(index.evaluate, predicates)
        scanned = per_query_us(dataset.attributes.ids, predicates)
        engine = "-"
        if qdrant is not None:
            from fanns_bench.methods.base import run_search

            search = lambda pair: run_search(qdrant, pair[0][None, :], [pair[1]], index, 10)  # noqa: E731
            engine = f"{per_query_us(search, pairs):.0f}"
        selectivity = workload.table["selectivity"].to_numpy()[rows].mean()
        print(
            f"{filter_type:8} {len(rows):4d} {selectivity:11.4f} {indexed:9.0f} {scanned:13.0f} {engine:>16}"
        )
    if qdrant is not None:
        qdrant.close()


if __name__ == "__main__":
    main()
