"""Convert a downloaded arxiv-for-fanns scale once into our store, then cross-check its ground truth.

Usage:
    python scripts/convert_published.py downloads/arxiv-for-fanns-medium \
        datasets/arxiv_published_medium [--name arxiv_published_medium] [--check 20] [--k 10]

Writes the store (vectors.npy, queries.npy, attributes.parquet, manifest.json; metric l2)
and workloads/paper_{none,em,r,emis}.parquet with the given ground truth, then recomputes
exact filtered top-k for `--check` random queries of each workload and compares (0: skip).
Vectors are streamed in blocks; the conversion needs about twice the vectors' size of free
disk while it runs (see datasets/README.md).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from fanns_bench.data.importers.common import read_workload
from fanns_bench.data.published import convert, crosscheck_ground_truth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", help="folder with the downloaded published files")
    parser.add_argument("target", help="dataset folder to write, e.g. datasets/arxiv_published_small")
    parser.add_argument("--name", help="dataset name (default: the target folder's name)")
    parser.add_argument("--check", type=int, default=20, help="queries to cross-check per workload")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--depth", type=int, default=100, help="ground-truth ids per row (paper: 100)")
    args = parser.parse_args()

    target = Path(args.target)
    started = time.perf_counter()
    dataset = convert(args.source, target, name=args.name or target.name)
    print(
        f"converted {dataset.count} x {dataset.dimension} vectors, {len(dataset.queries)} queries "
        f"in {time.perf_counter() - started:.1f} s -> {target}"
    )
    if args.check <= 0:
        return
    for path in sorted((target / "workloads").glob("paper_*.parquet")):
        table, _ = read_workload(path)
        check = crosscheck_ground_truth(dataset, table, sample=args.check, k=args.k, depth=args.depth)
        summary = {
            "workload": path.stem,
            "checked": check.checked,
            "k": check.k,
            "agreement": round(check.agreement, 4),
            "disagreeing_rows": check.disagreeing,
            "ids_not_matching_filter": check.not_matching_filter,
            "rows_with_unexpected_length": check.wrong_length,
        }
        print(json.dumps(summary))


if __name__ == "__main__":
    main()
