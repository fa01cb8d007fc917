"""The scale path, step by step: dataset build, workload + exact ground truth, one runner
sweep, each in its own process, with wall time and peak resident memory printed per step.

Vectors stay memory-mapped after the build; ground truth scores query x base blocks; the
runner builds each index in its own child process. Default: 1M x 384 synthetic vectors
(1.5 GB). Usage: python scripts/bench_scale.py [--count 1000000] [--dimension 384] [--root DIR]
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import time
from pathlib import Path
from typing import Any

FILTERS = [
    {"type": "EM", "template": "eq", "attribute": "category"},
    {"type": "R", "template": "range", "attribute": "score"},
    {"type": "EMIS", "template": "contains", "attribute": "tags"},
]


def peak_rss_bytes() -> int:
    """This process's VmHWM (peak resident set) in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def config(root: Path, count: int, dimension: int, queries: int) -> dict[str, Any]:
    return {
        "experiment": "scale",
        "paths": {"root": str(root), "datasets": str(root / "datasets"), "results": str(root / "results")},
        "dataset": {
            "name": f"synthetic_{count}",
            "builder": "synthetic",
            "params": {
                "count": count,
                "queries": 1000,
                "dimension": dimension,
                "latent_dimension": 48,
                "clusters": 200,
                "categories": 100,
                "tags": 200,
                "seed": 42,
            },
        },  # fmt: skip
        "workload": {
            "name": "scale",
            "filters": FILTERS,
            "selectivities": [0.01, 0.1],
            "queries_per_bucket": queries,
            "ground_truth_depth": 100,
        },  # fmt: skip
        "method": {"faiss_ivf": {"build": {"nlist": [0]}, "search": {"nprobe": [8, 32]}}},
        "runner": {"repetitions": 2, "latency_queries": 10},
    }


def build_dataset(plain: dict[str, Any]) -> str:
    from fanns_bench.data.builders import ensure_dataset

    d = plain["dataset"]
    dataset = ensure_dataset(d["name"], d["builder"], d["params"], Path(plain["paths"]["datasets"]))
    return f"{dataset.count:,} x {dataset.dimension} -> {dataset.path}"


def workload_and_truth(plain: dict[str, Any]) -> str:
    from fanns_bench.data.builders import ensure_dataset
    from fanns_bench.runner.context import prepare_context
    from fanns_bench.workloads.workload import WorkloadSpec

    d = plain["dataset"]
    dataset = ensure_dataset(d["name"], d["builder"], d["params"], Path(plain["paths"]["datasets"]))
    context = prepare_context(dataset, WorkloadSpec.from_config(plain["workload"]))
    return f"{len(context.workload.table)} queries, ground truth {context.truth.ids.shape}"


def sweep(plain: dict[str, Any]) -> str:
    from fanns_bench.runner.run import run_sweep

    outcome = run_sweep(plain)
    ok = outcome.rows[outcome.rows.status == "ok"]
    worker = ok.build_peak_rss_bytes.max() if "build_peak_rss_bytes" in ok else float("nan")
    return f"{len(ok)} ok rows; build job peak {worker / 2**30:.2f} GiB (measured by the runner)"


def child(step: Any, plain: dict[str, Any], queue: Any) -> None:
    start = time.perf_counter()
    note = step(plain)
    queue.put((time.perf_counter() - start, peak_rss_bytes(), note))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--dimension", type=int, default=384)
    parser.add_argument("--queries", type=int, default=100, help="queries per (filter type, bucket)")
    parser.add_argument(
        "--root", type=Path, default=None, help="where datasets and results go (default: temp)"
    )
    args = parser.parse_args()
    root = args.root or Path(tempfile.mkdtemp(prefix="fanns-scale-"))
    plain = config(root, args.count, args.dimension, args.queries)
    context = multiprocessing.get_context("spawn")
    print(f"{'step':24} {'wall s':>8} {'peak RSS GiB':>13}  note")
    for name, step in (("dataset build", build_dataset), ("workload + ground truth", workload_and_truth),
                       ("runner sweep", sweep)):  # fmt: skip
        queue = context.Queue()
        process = context.Process(target=child, args=(step, plain, queue))
        process.start()
        seconds, peak, note = queue.get()
        process.join()
        print(f"{name:24} {seconds:8.1f} {peak / 2**30:13.2f}  {note}")
    print(f"vectors on disk: {args.count * args.dimension * 4 / 2**30:.2f} GiB; root {root}")


if __name__ == "__main__":
    main()
