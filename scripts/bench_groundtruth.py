"""Ground-truth throughput: exact filtered top-100 vs faiss IndexFlatIP over the whole base.

Same shapes (N x d base, nq queries, k=100), per selectivity bucket; prints the ratio
(target >= 0.8; pre-filtering should make low selectivity faster).
Usage: python scripts/bench_groundtruth.py [--count 100000] [--dimension 384] [--queries 1000]
"""

from __future__ import annotations

import argparse
import time

import faiss
import numpy as np

from fanns_bench.groundtruth import compute_ground_truth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--dimension", type=int, default=384)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--depth", type=int, default=100)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(args.count, args.dimension)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    queries = rng.normal(size=(args.queries, args.dimension)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    index = faiss.IndexFlatIP(args.dimension)
    index.add(vectors)
    start = time.perf_counter()
    index.search(queries, args.depth)
    faiss_qps = args.queries / (time.perf_counter() - start)
    print(
        f"faiss IndexFlatIP, whole base: {faiss_qps:9.0f} queries/s  ({faiss.omp_get_max_threads()} threads)"
    )
    for selectivity in (0.001, 0.01, 0.1, 0.5, 1.0):
        size = max(1, int(selectivity * args.count))
        match_ids = [np.sort(rng.choice(args.count, size, replace=False)) for _ in range(args.queries)]
        start = time.perf_counter()
        compute_ground_truth(queries, vectors, match_ids, args.depth, "ip")
        qps = args.queries / (time.perf_counter() - start)
        ratio = qps / faiss_qps
        print(f"selectivity {selectivity:<6}: {qps:9.0f} queries/s  ratio {ratio:5.2f}  (target >= 0.8)")


if __name__ == "__main__":
    main()
