"""The router's own cost per query: its filter preparation and its whole batch (filters and
search) beside the method it routes to alone, per (filter type, bucket) of a workload draw.

Both run on the same built index (the router's), on a fresh `FilterBatch` each pass, as the
runner's end-to-end pass does; CPU seconds of this process (`time.process_time`), so a
loaded machine shows the work done, not the time waited. Pin it to one core
(`taskset -c 0 python scripts/bench_router.py ...`).
The last line routes the whole workload as one batch (every route's method alone: its
queries' batch, as the router splits them). The `own` column is the router's own CPU per query
alone: the same batch through a router whose methods are do-nothing stand-ins (nothing built;
its value tables are) less a stand-in alone, so the methods' variance does not hide it (a
count the route's method reuses, a compound's evaluation, shows there though the method would
do it anyway); `--own` prints only that column, without building the methods (seconds).
Usage: python scripts/bench_router.py POLICY [--datasets datasets] [--seed 1] [--queries 40]
       [--types EM,R] [--passes 200] [--own]
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from fanns_bench.data.builders import ensure_dataset
from fanns_bench.filters.attribute_index import AttributeIndex
from fanns_bench.methods.base import FilterBatch
from fanns_bench.methods.router.method import Router
from fanns_bench.recommend.policy import Policy, Route, read_policy, write_policy
from fanns_bench.workloads.workload import WorkloadSpec, generate_workload

K = 10


def cpu_us(work: Callable[[], object], passes: int, queries: int) -> float:
    """Least CPU microseconds per query of `work` over 3 rounds of up to `passes` calls each
    (fewer where one call takes over 1/50 s of CPU: a round of about 0.02 s or more)."""
    start = time.process_time()
    work()
    passes = max(1, min(passes, math.ceil(0.02 / max(time.process_time() - start, 1e-6))))
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        for _ in range(passes):
            work()
        best = min(best, (time.process_time() - start) / passes)
    return best / queries * 1e6


def cell_figures(
    router: Router, route: Route, predicates: list, queries: np.ndarray, index: AttributeIndex, passes: int
) -> list[float]:
    """CPU us per query of: the router's filter preparation, its route's method's alone, the
    router's whole batch (preparation and search), the method's alone."""
    method, params = router._method(route), router._search[route.label]

    def prep_router() -> Any:
        return router.prepare_filters(FilterBatch.of(predicates, index))

    def prep_alone() -> Any:
        return method.prepare_filters(FilterBatch.of(predicates, index))

    def batch_router() -> Any:
        return router.search(queries, prep_router(), K)

    def batch_alone() -> Any:
        return method.search(queries, prep_alone(), K, **params)

    n = len(predicates)
    figures = [cpu_us(work, passes, n) for work in (prep_router, prep_alone)]
    return figures + [cpu_us(work, max(1, passes // 4), n) for work in (batch_router, batch_alone)]


def stand_ins(policy: Path, index: AttributeIndex, metric: str) -> Router:
    """A router on `policy` whose methods do nothing (nothing built) and whose value tables are
    built on `index`: timing it times the router's own work."""
    router = Router(metric, policy=str(policy))
    for route in router.policy.builds():
        method = router._method(route)
        method.prepare_filters = lambda filters: None  # type: ignore[method-assign]
        method.search = lambda queries, filters, k, **params: np.full((len(queries), k), -1)  # type: ignore[method-assign]
    router._build_values(index)
    return router


def own_us(
    router: Router, predicates: list, queries: np.ndarray, index: AttributeIndex, passes: int
) -> float:
    """CPU us per query of the stand-in router's whole batch (routing, the one-route hand-on
    or the split, the search wrapper) less its first route's stand-in alone, each on a fresh
    `FilterBatch` per pass (the batch's grouping is not the router's cost)."""
    method = router._method(router.prepare_filters(FilterBatch.of(predicates, index)).parts[0].route)

    def routed() -> object:
        return router.search(queries, router.prepare_filters(FilterBatch.of(predicates, index)), K)

    def alone() -> object:
        return method.search(queries, method.prepare_filters(FilterBatch.of(predicates, index)), K)

    return cpu_us(routed, passes, len(predicates)) - cpu_us(alone, passes, len(predicates))


def narrowed(policy_path: Path, types: list[str] | None, directory: Path) -> Path:
    """The policy, or a copy holding only `types` (fewer methods to build)."""
    if not types:
        return policy_path
    policy = read_policy(policy_path)
    routes = {t: r for t, r in policy.routes.items() if t in types}
    shapes = {t: s for t, s in policy.shapes.items() if t in types}
    return write_policy(Policy(routes, shapes, policy.recall, policy.source), directory / "policy.yaml")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("policy", type=Path)
    parser.add_argument("--datasets", type=Path, default=Path("datasets"))
    parser.add_argument("--seed", type=int, default=1, help="workload seed (the held-out draw: 1)")
    parser.add_argument("--queries", type=int, default=40, help="queries per bucket (make bench: 40)")
    parser.add_argument("--types", default="", help="filter types to measure (default: every one)")
    parser.add_argument("--passes", type=int, default=200)
    parser.add_argument("--own", action="store_true", help="only the router's own cost (nothing built)")
    args = parser.parse_args()
    types = [t for t in args.types.split(",") if t] or None
    dataset = ensure_dataset(
        "arxiv_sample", "arxiv_sample", {}, args.datasets, directory="arxiv_sample.built"
    )
    config = yaml.safe_load(Path("configs/workload/arxiv_buckets.yaml").read_text())
    config |= {"seed": args.seed, "queries_per_bucket": args.queries}
    config["filters"] = [f for f in config["filters"] if types is None or f["type"] in types]
    workload = generate_workload(WorkloadSpec.from_config(config), dataset)
    index, vectors = dataset.attribute_index, np.asarray(dataset.queries, dtype=np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        policy = narrowed(args.policy, types, Path(tmp))
        own = stand_ins(policy, index, dataset.metric)
        router = own if args.own else Router(dataset.metric, policy=str(policy))
        if not args.own:
            router.build(dataset)
    print("CPU us per query (least of 3 rounds); router - alone = the router's own cost; own: it alone")
    header = f"{'cell':16} {'route':18} {'prep router':>11} {'alone':>6} {'batch router':>12} {'alone':>6}"
    print(f"{header} {'own':>5}")
    for filter_type, bucket, rows in workload.groups():
        predicates = [workload.predicates[r] for r in rows]
        queries = vectors[workload.table["query_index"].to_numpy()[rows]]
        mine = own_us(own, predicates, queries, index, args.passes)
        parts = router.prepare_filters(FilterBatch.of(predicates, index)).parts
        if args.own:
            route = ", ".join(sorted({p.route.method for p in parts}))
            print(
                f"{filter_type + ' ' + str(bucket):16} {route:18} {'':11} {'':6} {'':12} {'':6} {mine:5.2f}"
            )
            continue
        if len(parts) != 1:
            print(f"{filter_type} {bucket}: {len(parts)} routes (skipped: compares one route)")
            continue
        route = parts[0].route
        figures = cell_figures(router, route, predicates, queries, index, args.passes)
        print(
            f"{filter_type + ' ' + str(bucket):16} {route.method:18} {figures[0]:11.1f} {figures[1]:6.1f} "
            f"{figures[2]:12.1f} {figures[3]:6.1f} {mine:5.2f}"
        )
    if args.own:
        return
    everything = list(workload.predicates)
    rows = np.arange(len(everything))
    queries = vectors[workload.table["query_index"].to_numpy()]
    parts = router.prepare_filters(FilterBatch.of(everything, index)).parts
    batches = [(router._method(p.route), [everything[i] for i in p.rows]) for p in parts]

    def prep_router() -> Any:
        return router.prepare_filters(FilterBatch.of(everything, index))

    def prep_alone() -> None:
        for method, predicates in batches:
            method.prepare_filters(FilterBatch.of(predicates, index))

    mixed = [cpu_us(work, max(1, args.passes // 10), len(rows)) for work in (prep_router, prep_alone)]
    print(f"{'all, one batch':16} {f'{len(parts)} routes':18} {mixed[0]:11.1f} {mixed[1]:6.1f}")
    router.close()


if __name__ == "__main__":
    main()
