"""Runner overhead: faiss HNSW QPS through the runner vs a bare loop of the same library call.

Same index, same queries, same filters, one process, interleaved repetitions; prints the ratio
(target >= 0.97). Usage: python scripts/bench_runner_overhead.py [--count 20000] [--ef 64]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np

from fanns_bench.data import synthetic
from fanns_bench.methods.faiss.hnsw import FaissHNSW
from fanns_bench.runner.context import prepare_context
from fanns_bench.runner.measure import measure
from fanns_bench.workloads.workload import WorkloadSpec


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=20000)
    parser.add_argument("--ef", type=int, default=64)
    parser.add_argument("--repetitions", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        dataset = synthetic.build(
            Path(tmp) / "d",
            "d",
            count=args.count,
            queries=1000,
            dimension=128,
            latent_dimension=24,
            clusters=100,
            seed=0,
        )
        spec = WorkloadSpec.from_config(
            {
                "name": "overhead",
                "selectivities": [0.1],
                "queries_per_bucket": 1000,
                "filters": [{"type": "EM", "template": "eq", "attribute": "category"}],
            }
        )
        context = prepare_context(dataset, spec)
        queries = np.ascontiguousarray(context.query_vectors)
        predicates = context.workload.predicates
        index = dataset.attribute_index
        method = FaissHNSW(metric="ip", threads=1, M=32, efConstruction=100)
        method.build(dataset)
        faiss.omp_set_num_threads(1)

        def bare() -> float:
            """The same work by hand: evaluate each distinct predicate, bitmap, selector, search."""
            start = time.perf_counter()
            groups: dict[object, list[int]] = {}
            for i, predicate in enumerate(predicates):
                groups.setdefault(predicate, []).append(i)
            for predicate, rows in groups.items():
                mask = np.zeros(dataset.count, dtype=bool)
                mask[index.evaluate(predicate)] = True
                bitmap = np.packbits(mask, bitorder="little")
                selector = faiss.IDSelectorBitmap(dataset.count, faiss.swig_ptr(bitmap))
                params = faiss.SearchParametersHNSW(efSearch=args.ef, sel=selector)
                method.index.search(queries[rows], 10, params=params)
            return len(queries) / (time.perf_counter() - start)

        def runner() -> float:
            row = measure(
                method,
                queries,
                predicates,
                index,
                context.match_ids,
                context.truth,
                dataset.vectors,
                "ip",
                10,
                {"efSearch": args.ef},
                repetitions=1,
                warmup=False,
                latency_queries=0,
            )
            return row["qps"]

        bare(), runner()  # warm-up
        bare_qps, runner_qps = [], []
        for _ in range(args.repetitions):
            bare_qps.append(bare())
            runner_qps.append(runner())
        ratio = np.median(runner_qps) / np.median(bare_qps)
        print(f"bare loop QPS   median {np.median(bare_qps):9.0f}  all {np.round(bare_qps).tolist()}")
        print(f"through runner  median {np.median(runner_qps):9.0f}  all {np.round(runner_qps).tolist()}")
        print(f"ratio runner / bare = {ratio:.3f}  (target >= 0.97)")


if __name__ == "__main__":
    main()
