"""Ground-truth throughput: exact filtered top-100 vs faiss IndexFlatIP over the whole base.

Same shapes (N x d base, nq queries, k=100) and thread count, per selectivity bucket (a
random id set per query). faiss and our ground truth alternate, `--repeats` times each, so
both see the same machine load; the ratio is of the best times (target >= 0.8).
Usage: python scripts/bench_groundtruth.py [--count 100000] [--dimension 384] [--queries 1000]
"""

from __future__ import annotations

import argparse
import os
import time

import faiss
import numpy as np

from fanns_bench import _core
from fanns_bench.groundtruth import compute_ground_truth

SELECTIVITIES = (0.001, 0.01, 0.1, 0.5, 1.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--dimension", type=int, default=384)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--depth", type=int, default=100)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--selectivities", type=float, nargs="+", default=SELECTIVITIES)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(args.count, args.dimension)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    queries = rng.normal(size=(args.queries, args.dimension)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    faiss.omp_set_num_threads(args.threads)
    index = faiss.IndexFlatIP(args.dimension)
    index.add(vectors)
    print(
        f"{args.count} x {args.dimension} base, {args.queries} queries, k={args.depth}, "
        f"{args.threads} threads, kernel {_core.groundtruth_kernel()}, best of {args.repeats}"
    )
    for selectivity in args.selectivities:
        size = max(1, int(selectivity * args.count))
        match_ids = [np.sort(rng.choice(args.count, size, replace=False)) for _ in range(args.queries)]
        faiss_seconds, ours_seconds = [], []
        for _ in range(args.repeats):
            faiss_seconds.append(_timed(lambda: index.search(queries, args.depth)))
            ours_seconds.append(
                _timed(
                    lambda ids=match_ids: compute_ground_truth(
                        queries, vectors, ids, args.depth, "ip", threads=args.threads
                    )
                )
            )
        faiss_qps = args.queries / min(faiss_seconds)
        qps = args.queries / min(ours_seconds)
        print(
            f"selectivity {selectivity:<6}: {qps:9.0f} queries/s  faiss {faiss_qps:7.0f} queries/s  "
            f"ratio {qps / faiss_qps:5.2f}  (target >= 0.8)"
        )


def _timed(work) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
