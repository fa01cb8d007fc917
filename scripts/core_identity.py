"""Fingerprint every compiled method's answers, so a refactor of `cpp/` can be proved a pure one.

Each compiled method is built on one thread (deterministic, see `fanns_bench.determinism`) on
the determinism check's small seeded dataset (3000 x 32) at its conformance build point, then
searched with the least and the most generous value of each search parameter for every filter
shape it answers. The fingerprint is the sha256 of the returned ids and the mean
`distance_computations` per (method, search point, filter shape); the exact filtered top-k of
the ground-truth kernel is fingerprinted too.

    python scripts/core_identity.py /tmp/before.json            # write a fingerprint
    python scripts/core_identity.py /tmp/after.json --check /tmp/before.json

`--check FILE` exits 1 naming every method whose ids or counts differ from FILE's.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from fanns_bench.atomic_files import write_text_atomic
from fanns_bench.conformance import method_config, method_point, search, shapes
from fanns_bench.data.dataset import Dataset
from fanns_bench.determinism import determinism_dataset, least_generous_search
from fanns_bench.groundtruth import compute_ground_truth
from fanns_bench.methods.registry import get_method

COMPILED = (
    "acorn_gamma",
    "acorn_1",
    "acorn_gamma_ref",
    "acorn_1_ref",
    "caps",
    "digra",
    "dsg",
    "irangegraph",
    "nhq_nsw",
    "nhq_kgraph",
    "serf",
    "ung",
    "filtered_vamana",
    "stitched_vamana",
)
K = 10


def digest(ids: np.ndarray) -> str:
    """sha256 of the ids as little-endian int64 rows."""
    return hashlib.sha256(np.ascontiguousarray(ids, dtype="<i8").tobytes()).hexdigest()


def method_fingerprint(name: str, dataset: Dataset) -> dict[str, Any]:
    """Per search point and filter shape: the ids' digest and mean distance computations."""
    cls = get_method(name)
    config = method_config(name)
    build_params, most = method_point(name, config)
    points = {"least": least_generous_search(config), "most": most}
    kinds = dataset.attributes.kinds
    method = cls(metric=dataset.metric, threads=1, **build_params)
    found: dict[str, Any] = {}
    try:
        method.prepare_environment(dataset)
        method.build(dataset)
        for label, params in points.items():
            for shape, predicates in shapes(dataset).items():
                if method.unsupported_reason(predicates[0], kinds) is not None:
                    continue
                queries = np.ascontiguousarray(dataset.queries[: len(predicates)])
                ids = search(method, dataset, queries, predicates, K, **params)
                found[f"{label}/{shape}"] = {
                    "ids": digest(ids),
                    "distance_computations": method.stats().get("distance_computations"),
                }
    finally:
        method.close()
    return found


def ground_truth_fingerprint(dataset: Dataset) -> dict[str, Any]:
    """The exact kernel on seeded id subsets, both metrics."""
    rng = np.random.default_rng(5)
    sizes = [3, 40, 700, dataset.count]
    match = [np.sort(rng.choice(dataset.count, sizes[i % 4], replace=False)) for i in range(40)]
    found = {}
    for metric in ("ip", "l2"):
        truth = compute_ground_truth(dataset.queries, dataset.vectors, match, K, metric, threads=1)
        found[metric] = {"ids": digest(truth.ids), "scores": digest(truth.scores.view(np.int32))}
    return found


def fingerprint(names: list[str]) -> dict[str, Any]:
    """Every fingerprint, one line on stderr per method with its time (loaded machine)."""
    result: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="core-identity-") as tmp:
        dataset = determinism_dataset(Path(tmp) / "data")
        result["groundtruth"] = ground_truth_fingerprint(dataset)
        for name in names:
            start = time.perf_counter()
            result[name] = method_fingerprint(name, dataset)
            print(f"{name}: {len(result[name])} points, {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return result


def changed(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Names (with the differing points) whose fingerprints differ or are missing."""
    lines = []
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name), after.get(name)
        if old == new:
            continue
        if old is None or new is None:
            lines.append(f"{name}: only in {'after' if old is None else 'before'}")
            continue
        points = sorted(p for p in set(old) | set(new) if old.get(p) != new.get(p))
        lines.append(f"{name}: {', '.join(points)}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path, help="where to write this run's fingerprint (JSON)")
    parser.add_argument("--check", type=Path, help="a fingerprint to compare with; exit 1 on any change")
    parser.add_argument("--methods", nargs="+", default=list(COMPILED), choices=COMPILED)
    args = parser.parse_args(argv)
    before = None
    if args.check is not None:
        try:
            before = json.loads(args.check.read_text())
        except (OSError, ValueError) as error:
            print(f"--check {args.check}: cannot read a fingerprint ({error})", file=sys.stderr)
            return 2
    after = fingerprint(args.methods)
    write_text_atomic(args.output, json.dumps(after, indent=1, sort_keys=True) + "\n")
    if before is None:
        return 0
    if args.methods != list(COMPILED):
        before = {name: before.get(name) for name in ["groundtruth", *args.methods]}
    differences = changed(before, after)
    for line in differences:
        print(f"changed: {line}")
    print("identical" if not differences else f"{len(differences)} changed")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
