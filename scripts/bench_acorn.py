"""Benchmark our ACORN-γ / ACORN-1 against the filtered graph searches one can pip-install.

Side by side, on one dataset, in one process: `acorn_gamma`, `acorn_1` (fanns-bench's
compiled core), `faiss_hnsw` (HNSW + IDSelectorBitmap, same M), `qdrant_acorn`
(qdrant-edge-py's ACORN mode, with the graph forced and with Qdrant's planner default) and
kannolo's ACORN-1 / ACORN-γ, each through its registered `Method`, so what is timed is what
the harness runs (filter conversion included).

Data: a Gaussian mixture in a 48-d latent space with 200 Zipf-sized
clusters, mapped linearly to 384-d, 4 % isotropic noise, L2-normalised; inner product.
The attribute `label` is independent of the vector, with shares 1.06 % / 10 % / 50 % / rest;
each query is filtered by `label == L` for one L (selectivity 1 %, 10 %, 50 %).

Reported: build seconds and memory per method; per thread count and selectivity, recall@10
and batch QPS for every search parameter; QPS at recall >= 0.9 / 0.95 and the best recall.
QPS is batch throughput over all queries (best of up to 3 runs, after a warm-up); a point
whose projected time exceeds `--cap-seconds` is measured on a prefix of the queries
(marked capped).

    python scripts/bench_acorn.py --count 100000 --out results/bench_acorn
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import pyarrow as pa

from fanns_bench.data.dataset import Dataset, write_dataset
from fanns_bench.filters.predicates import Eq
from fanns_bench.groundtruth import GroundTruth, compute_ground_truth
from fanns_bench.methods.base import FilterBatch, Method
from fanns_bench.methods.registry import get_method
from fanns_bench.metrics import recall_paper

K = 10
LABELS = {"1%": "s01", "10%": "s10", "50%": "s50"}
SHARES = {"s01": 0.0106, "s10": 0.10, "s50": 0.50}
EF_GRID = [16, 32, 64, 128, 256, 512]
REPEATS = 3


@dataclass
class Contender:
    """One index to build and the search grid to sweep on it."""

    label: str
    method: str
    build: dict[str, Any]
    search_param: str
    grid: list[Any]
    fixed: dict[str, Any] = field(default_factory=dict)
    single_threaded: bool = False


def contenders(m: int, gammas: list[int], m_beta: int, ef_construction: int) -> list[Contender]:
    common = {"ef_construction": ef_construction}
    ours = [
        Contender(
            f"acorn_gamma (M={m}, γ={gamma}, M_β={m_beta})",
            "acorn_gamma",
            {"M": m, "gamma": gamma, "M_beta": m_beta, **common},
            "ef_search",
            EF_GRID,
        )
        for gamma in gammas
    ]
    return ours + [
        Contender(f"acorn_1 (M={m})", "acorn_1", {"M": m, **common}, "ef_search", EF_GRID),
        Contender(
            f"faiss HNSW + IDSelectorBitmap (M={m})",
            "faiss_hnsw",
            {"M": m, "efConstruction": ef_construction},
            "efSearch",
            EF_GRID,
        ),
        Contender(
            f"qdrant-edge ACORN, graph forced (m={m})",
            "qdrant_acorn",
            {"m": m, "ef_construct": ef_construction, "full_scan_threshold_kb": 1},
            "hnsw_ef",
            EF_GRID[:5],
            fixed={"acorn_max_selectivity": 1.0},
        ),
        Contender(
            f"qdrant-edge ACORN, planner default (m={m})",
            "qdrant_acorn",
            {"m": m, "ef_construct": ef_construction},
            "hnsw_ef",
            [16, 64, 256],
            fixed={"acorn_max_selectivity": 1.0},
        ),
        Contender(
            f"kannolo ACORN-1 (m={m})",
            "kannolo_acorn1",
            {"m": m, **common},
            "ef_search",
            [16, 64, 256],
            single_threaded=True,
        ),
        Contender(
            f"kannolo ACORN-γ (m={m}, γ=4)",
            "kannolo_acorn_gamma",
            {"m": m, "gamma": 4, **common},
            "ef_search",
            [16, 64, 256],
            single_threaded=True,
        ),
    ]


def make_dataset(path: Path, count: int, queries: int, seed: int) -> Dataset:
    """The clustered 384-d dataset (Gaussian mixture, see the module docstring) with a `label` attribute."""
    rng = np.random.default_rng(seed)
    latent, dim, clusters = 48, 384, 200
    weights = 1.0 / np.arange(1, clusters + 1)
    cluster_of = rng.choice(clusters, size=count + queries, p=weights / weights.sum())
    centres = rng.standard_normal((clusters, latent))
    spreads = rng.uniform(0.3, 0.8, size=(clusters, 1))
    points = centres[cluster_of] + spreads[cluster_of] * rng.standard_normal((len(cluster_of), latent))
    vectors = points @ (rng.standard_normal((latent, dim)) / np.sqrt(latent))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors += 0.04 / np.sqrt(dim) * rng.standard_normal(vectors.shape)  # noise of norm ~0.04
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    shares = [*SHARES.values(), 1.0 - sum(SHARES.values())]
    label = rng.choice([*SHARES, "rest"], size=count, p=shares)
    attributes = pa.table({"label": pa.array(label.tolist(), pa.string())})
    return write_dataset(
        path,
        name=f"acorn_bench_{count}",
        vectors=vectors[:count],
        queries=vectors[count:],
        attributes=attributes,
        metric="ip",
        builder="scripts/bench_acorn.py",
        extra={"seed": seed},
    )


def workloads(dataset: Dataset) -> dict[str, tuple[FilterBatch, GroundTruth]]:
    """Per selectivity: every query filtered by `label == L`, and its exact top-k."""
    out = {}
    queries = dataset.queries
    for name, label in LABELS.items():
        predicate = Eq("label", label)
        ids = dataset.attributes.ids(predicate)
        filters = FilterBatch([predicate] * len(queries), [ids] * len(queries), dataset.count)
        truth = compute_ground_truth(queries, dataset.vectors, filters.match_ids, K, dataset.metric)
        out[name] = (filters, truth)
        print(f"  {name}: label {label}, {len(ids)} matches ({len(ids) / dataset.count:.2%})", flush=True)
    return out


def timed_point(
    method: Method, queries: np.ndarray, filters: FilterBatch, params: dict, cap: float
) -> tuple[np.ndarray, float, int]:
    """Found ids, QPS and number of queries timed (all of them unless the cap cut in).

    After a warm-up on the first 100 queries, the whole batch is timed up to REPEATS times
    while that fits in `cap` seconds, and the best run counts; a point too slow for one
    full run within the cap is timed on a prefix, 100 queries at a time.
    """
    probe = min(100, len(queries))
    method.search(queries[:probe], filters.subset(range(probe)), K, **params)  # warm-up
    start = time.perf_counter()
    first = method.search(queries[:probe], filters.subset(range(probe)), K, **params)
    probe_seconds = time.perf_counter() - start
    projected = probe_seconds * len(queries) / probe
    if projected <= cap:
        best, found = np.inf, None
        for _ in range(max(1, min(REPEATS, int(cap / max(projected, 1e-9))))):
            start = time.perf_counter()
            found = method.search(queries, filters, K, **params)
            best = min(best, time.perf_counter() - start)
        return found, len(queries) / best, len(queries)
    rows, seconds, done = [first], probe_seconds, probe
    while done < len(queries) and seconds < cap:
        end = min(done + probe, len(queries))
        start = time.perf_counter()
        rows.append(method.search(queries[done:end], filters.subset(range(done, end)), K, **params))
        seconds += time.perf_counter() - start
        done = end
    return np.concatenate(rows), done / seconds, done


def run_contender(
    contender: Contender, dataset: Dataset, loads: dict, threads: list[int], cap: float
) -> tuple[dict, list[dict]]:
    cls = get_method(contender.method)
    missing = cls.missing_dependencies()
    if missing:
        print(f"[skip] {contender.label}: not installed ({missing})", flush=True)
        return {"label": contender.label, "skipped": f"missing {missing}"}, []
    build_threads = 1 if contender.single_threaded else max(threads)
    method = cls(metric=dataset.metric, threads=build_threads, **contender.build)
    rss = psutil.Process().memory_info().rss
    start = time.perf_counter()
    method.build(dataset)
    build_seconds = time.perf_counter() - start
    build = {
        "label": contender.label,
        "method": contender.method,
        "build_params": contender.build,
        "build_threads": build_threads,
        "build_seconds": build_seconds,
        "memory_bytes": method.memory_bytes(),
        "rss_growth_bytes": psutil.Process().memory_info().rss - rss,
    }
    print(
        f"[build] {contender.label}: {build_seconds:.1f} s, {build['memory_bytes'] / 1e6:.0f} MB", flush=True
    )
    points = []
    try:
        for t in [1] if contender.single_threaded else threads:
            method.threads = t
            for selectivity, (filters, truth) in loads.items():
                for value in contender.grid:
                    params = {contender.search_param: value, **contender.fixed}
                    found, qps, timed = timed_point(method, dataset.queries, filters, params, cap)
                    sub = GroundTruth(truth.ids[:timed], truth.scores[:timed])
                    recall = recall_paper(found, sub, K)
                    stats = method.stats()
                    points.append(
                        {
                            "label": contender.label,
                            "threads": t,
                            "selectivity": selectivity,
                            "param": f"{contender.search_param}={value}",
                            "recall": recall,
                            "qps": qps,
                            "queries_timed": timed,
                            "distance_computations": stats.get("distance_computations"),
                        }
                    )
                    print(
                        f"  {contender.label} t={t} {selectivity} {params}: recall {recall:.3f} "
                        f"qps {qps:.0f}{' (capped)' if timed < len(dataset.queries) else ''}",
                        flush=True,
                    )
    finally:
        method.close()
    return build, points


def qps_at(points: list[dict], target: float) -> float | None:
    good = [p["qps"] for p in points if p["recall"] >= target]
    return max(good) if good else None


def summary(builds: list[dict], points: list[dict], threads: list[int], queries: int) -> str:
    def fmt(value: float | None) -> str:
        return "–" if value is None else f"{value:.0f}"

    lines = [
        "## Build",
        "",
        "| method | build s | threads | memory MB | RSS growth MB |",
        "|---|---|---|---|---|",
    ]
    for b in builds:
        if "skipped" in b:
            lines.append(f"| {b['label']} | skipped: {b['skipped']} | | | |")
            continue
        lines.append(
            f"| {b['label']} | {b['build_seconds']:.1f} | {b['build_threads']} | "
            f"{b['memory_bytes'] / 1e6:.0f} | {b['rss_growth_bytes'] / 1e6:.0f} |"
        )
    lines += ["", "## QPS at recall >= 0.9 / >= 0.95, and the best recall reached", ""]
    header = (
        "| method | threads | " + " | ".join(f"{s} QPS@0.9 | {s} QPS@0.95 | {s} max R" for s in LABELS) + " |"
    )
    lines += [header, "|" + "---|" * (2 + 3 * len(LABELS))]
    labels = list(dict.fromkeys(p["label"] for p in points))
    for label in labels:
        for t in threads:
            cells = []
            mine = [p for p in points if p["label"] == label and p["threads"] == t]
            if not mine:
                continue
            for s in LABELS:
                sel = [p for p in mine if p["selectivity"] == s]
                best = max(p["recall"] for p in sel)
                cells += [fmt(qps_at(sel, 0.9)), fmt(qps_at(sel, 0.95)), f"{best:.3f}"]
            lines.append(f"| {label} | {t} | " + " | ".join(cells) + " |")
    lines += ["", "## Every point (recall@10 / QPS; * = capped, fewer queries)", ""]
    lines += ["| method | threads | param | " + " | ".join(LABELS) + " |", "|" + "---|" * (3 + len(LABELS))]
    for label in labels:
        for t in threads:
            params = list(
                dict.fromkeys(p["param"] for p in points if p["label"] == label and p["threads"] == t)
            )
            for param in params:
                cells = []
                for s in LABELS:
                    p = next(
                        p
                        for p in points
                        if (p["label"], p["threads"], p["param"], p["selectivity"]) == (label, t, param, s)
                    )
                    star = "*" if p["queries_timed"] < queries else ""
                    cells.append(f"{p['recall']:.3f} / {p['qps']:.0f}{star}")
                lines.append(f"| {label} | {t} | {param} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def environment() -> dict[str, Any]:
    from fanns_bench import _core

    return {
        "python": platform.python_version(),
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "load_average": os.getloadavg(),
        "simd": _core.simd_level(),
        "argv": sys.argv,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--M", type=int, default=32)
    parser.add_argument("--gamma", type=int, nargs="+", default=[12, 100], help="one acorn_gamma per value")
    parser.add_argument("--M-beta", type=int, default=64)
    parser.add_argument("--ef-construction", type=int, default=100)
    parser.add_argument("--cap-seconds", type=float, default=8.0)
    parser.add_argument("--only", nargs="*", help="registry names to run (default: all)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, default=Path("results/bench_acorn"))
    args = parser.parse_args(argv)

    args.out.mkdir(parents=True, exist_ok=True)
    env = environment()
    print(json.dumps(env), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        dataset = make_dataset(Path(tmp) / "data", args.count, args.queries, args.seed)
        sample = dataset.queries[:200] @ np.asarray(dataset.vectors).T
        env["mean_top1_cosine"] = float(sample.max(axis=1).mean())
        print(
            f"dataset {args.count} x 384 in {time.perf_counter() - start:.1f} s, "
            f"mean top-1 cosine {env['mean_top1_cosine']:.3f}",
            flush=True,
        )
        loads = workloads(dataset)
        builds, points = [], []
        for contender in contenders(args.M, args.gamma, args.M_beta, args.ef_construction):
            if args.only and contender.method not in args.only:
                continue
            build, found = run_contender(contender, dataset, loads, args.threads, args.cap_seconds)
            builds.append(build)
            points += found
            report = summary(builds, points, args.threads, args.queries)
            (args.out / "summary.md").write_text(report)
            (args.out / "results.json").write_text(
                json.dumps({"environment": env, "builds": builds, "points": points}, indent=1)
            )
    env["load_average_end"] = os.getloadavg()
    (args.out / "results.json").write_text(
        json.dumps({"environment": env, "builds": builds, "points": points}, indent=1)
    )
    print(report)


if __name__ == "__main__":
    main()
