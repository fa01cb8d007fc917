"""Recall@10 of each paper method's default (the authors' behaviour) against the declared
parameter that selects ours, on the shipped arXiv sample: the "Effect" figures of the method
READMEs (issue 19). Recall only: the figures do not depend on the machine's load.

SeRF / DSG: random position windows of 1 %, 10 %, 50 % of the `update_date` order, searched in
the core. UNG (EMIS on `sub_categories`), CAPS and NHQ-KGraph (EM on
`number_of_sub_categories`): the values closest to 50 %, 10 % and 1 % selectivity.
Usage: python scripts/defaults_effect.py [serf dsg ung caps nhq] [--queries 300]
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from fanns_bench.data.builders import ensure_dataset
from fanns_bench.data.dataset import Dataset
from fanns_bench.filters.predicates import Contains, Eq, Predicate
from fanns_bench.methods.base import FilterBatch
from fanns_bench.methods.registry import get_method

K = 10
TARGETS = (0.5, 0.1, 0.01)
Variants = list[tuple[str, dict[str, Any]]]


def recall(found: np.ndarray, truths: list[np.ndarray]) -> float:
    hits = sum(len(set(r[r >= 0].tolist()) & set(t.tolist())) for r, t in zip(found, truths, strict=True))
    return hits / sum(min(K, len(t)) for t in truths)


def nearest(data: Dataset, ids: np.ndarray, query: np.ndarray) -> np.ndarray:
    """The true k nearest of `ids` (inner product: the arXiv sample's metric)."""
    return ids[np.argsort(-(np.asarray(data.vectors)[ids] @ query), kind="stable")[:K]]


def label_workloads(data: Dataset, attr: str) -> list[tuple[float, Predicate]]:
    """(selectivity, predicate) for the values closest to 50 %, 10 % and 1 %."""
    values = data.attributes.column(attr).to_pylist()
    is_set = data.attributes.kinds[attr] == "set"
    counts: Counter = Counter()
    for value in values:
        if value is not None:
            counts.update(set(value) if is_set else [value])
    out = []
    for target in TARGETS:
        value = min(counts, key=lambda v: abs(counts[v] / len(values) - target))
        out.append((counts[value] / len(values), Contains(attr, value) if is_set else Eq(attr, value)))
    return out


def run_label(
    data: Dataset, name: str, build: dict, grid: list[dict], variants: Variants, attr: str, nq: int
) -> None:
    queries = np.ascontiguousarray(data.queries[:nq], dtype=np.float32)
    method = get_method(name)(metric=data.metric, threads=2, **build)
    method.build(data)
    for selectivity, predicate in label_workloads(data, attr):
        truths = [nearest(data, data.attributes.ids(predicate), q) for q in queries]
        prepared = method.prepare_filters(FilterBatch.of([predicate] * nq, data.attribute_index))
        for point in grid:
            cells = []
            for label, extra in variants:
                found = method.search(queries, prepared, K, **method.search_params({**point, **extra}))
                cells.append(f"{label} {recall(found, truths):.4f}")
            print(f"{name} {attr} sel={selectivity:.3f} {point}: " + " | ".join(cells), flush=True)
    method.close()


def run_range(data: Dataset, name: str, nq: int) -> None:
    queries = np.ascontiguousarray(data.queries[:nq], dtype=np.float32)
    method = get_method(name)(metric=data.metric, threads=2)
    method.build(data)
    index, order = method._index, method._order
    variants = [
        ("authors", dict(return_seeds=False, raise_ef_to_k=False)),
        ("+return_seeds", dict(return_seeds=True, raise_ef_to_k=False)),
        ("+raise_ef_to_k", dict(return_seeds=False, raise_ef_to_k=True)),
        ("ours", dict(return_seeds=True, raise_ef_to_k=True)),
    ]
    rng = np.random.default_rng(0)
    for selectivity in TARGETS:
        width = int(round(selectivity * len(order)))
        starts = rng.integers(0, len(order) - width + 1, nq).astype(np.int64)
        stops = starts + width
        truths = [nearest(data, order[a:b], q) for a, b, q in zip(starts, stops, queries, strict=True)]
        for ef in (4, 8, 16, 64, 256):
            cells = []
            for label, flags in variants:
                positions = index.search(queries, starts, stops, K, ef, 0, 1, **flags)[0]
                ids = np.where(positions >= 0, order[np.maximum(positions, 0)], -1)
                cells.append(f"{label} {recall(ids, truths):.4f}")
            print(f"{name} sel={selectivity:.2f} ef={ef}: " + " | ".join(cells), flush=True)
    method.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("methods", nargs="*", default=["serf", "dsg", "ung", "caps", "nhq"])
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()
    data = ensure_dataset(
        "arxiv_sample", "arxiv_sample", {}, Path("datasets"), directory="arxiv_sample.built"
    )
    nq = args.queries
    for name in args.methods:
        if name in ("serf", "dsg"):
            run_range(data, name, nq)
        elif name == "ung":
            build = dict(
                label_attribute="sub_categories", num_cross_edges=8, max_degree=32, L_build=100, alpha=1.4
            )
            grid = [{"L_search": width, "num_entry_points": 16} for width in (10, 50, 200)]
            variants = [("first", {"entry_points": "first"}), ("drawn", {"entry_points": "drawn"})]
            run_label(data, "ung", build, grid, variants, "sub_categories", nq)
        elif name == "caps":
            build = dict(label_attribute="number_of_sub_categories", clusters=128)
            grid = [{"max_distances": m} for m in (200, 1000, 5000)]
            variants = [("authors", {}), ("exact_top_k", {"exact_top_k": True})]
            run_label(data, "caps", build, grid, variants, "number_of_sub_categories", nq)
        elif name == "nhq":
            for fractional in (False, True):
                build = dict(
                    attributes="number_of_sub_categories", fractional_b=fractional, deterministic=True
                )
                grid = [{"L_search": width} for width in (10, 50, 200)]
                variants = [(f"fractional_b={fractional}", {})]
                run_label(data, "nhq_kgraph", build, grid, variants, "number_of_sub_categories", nq)
        else:
            parser.error(f"unknown method {name!r}: expected serf, dsg, ung, caps or nhq")


if __name__ == "__main__":
    main()
