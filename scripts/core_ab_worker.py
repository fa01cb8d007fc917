"""One timing process of `scripts/bench_core_ab.py`: build and time the compiled methods of a spec.

It runs under EITHER commit's interpreter (`--before` / `--after`), so it uses only what both
commits' `fanns_bench` have: `load_dataset`, `get_method`, a method's constructor, `build`,
`prepare_filters`, `search` and `search_params`, `FilterBatch.of` and `predicates.from_dict`.
The timing loop is this file's own, the same on both sides: untimed warm-up passes (one, or up
to three while they stay under `min_repetition_s`), then `repetitions` timed repetitions of a
fixed number of passes each (at least `min_repetition_s` long), searches with the filters
prepared beforehand (the compiled core's work, not the harness's filter evaluation).

    python scripts/core_ab_worker.py SPEC.json OUT.json
"""

from __future__ import annotations

import json
import math
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np

import fanns_bench
from fanns_bench.data.dataset import load_dataset
from fanns_bench.filters.predicates import from_dict
from fanns_bench.methods.base import FilterBatch
from fanns_bench.methods.registry import get_method

WARMUP_PASSES = 3


def timed(run: Any, repetitions: int, min_repetition_s: float) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds of one pass, per timed repetition."""
    warm: list[float] = []
    while not warm or (len(warm) < WARMUP_PASSES and sum(warm) < min_repetition_s):
        start = time.perf_counter()
        run()
        warm.append(time.perf_counter() - start)
    passes = 1 if min_repetition_s <= 0 else max(1, math.ceil(min_repetition_s / max(min(warm), 1e-9)))
    wall, cpu = [], []
    for _ in range(repetitions):
        start, start_cpu = time.perf_counter(), time.process_time()
        for _ in range(passes):
            run()
        wall.append((time.perf_counter() - start) / passes)
        cpu.append((time.process_time() - start_cpu) / passes)
    return wall, cpu


def measure(case: dict[str, Any], spec: dict[str, Any], dataset: Any) -> dict[str, Any]:
    """Build one method on one thread and time each of its search points."""
    cls = get_method(case["name"])
    method = cls(spec["metric"], threads=1, **case["build"])
    count, k = spec["queries"], spec["k"]
    queries = np.ascontiguousarray(np.asarray(dataset.queries[:count], dtype=np.float32))
    predicates = [from_dict(p) for p in spec["filters"][case["filters"]]]
    found: dict[str, Any] = {"name": case["name"], "build_params": dict(method.build_params), "points": []}
    try:
        method.prepare_environment(dataset)
        start = time.perf_counter()
        method.build(dataset)
        found["build_s"] = time.perf_counter() - start
        prepared = method.prepare_filters(FilterBatch.of(predicates, dataset.attribute_index))
        for point in case["points"]:
            params = cls.search_params(point)
            answer: list[Any] = []

            def run(params: dict[str, Any] = params, answer: list[Any] = answer) -> None:
                answer[:] = [method.search(queries, prepared, k, **params)]

            wall, cpu = timed(run, spec["repetitions"], spec["min_repetition_s"])
            ids = np.asarray(answer[0], dtype=np.int64)
            measured = {"params": params, "ids": ids.tolist(), "seconds": wall, "cpu_seconds": cpu}
            found["points"].append(measured)
    finally:
        method.close()
    return found


def main(spec_path: str, out_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text())
    dataset = load_dataset(spec["dataset"])
    from fanns_bench import _core

    result: dict[str, Any] = {
        "python": sys.executable,
        "package": str(Path(fanns_bench.__file__).parent),
        "core": str(_core.__file__),
        "methods": [],
    }
    for case in spec["methods"]:
        try:
            result["methods"].append(measure(case, spec, dataset))
        except Exception as error:  # noqa: BLE001 - one failing method must not hide the others
            last = traceback.format_exception_only(type(error), error)[-1].strip()
            result["methods"].append({"name": case["name"], "error": last})
        done = result["methods"][-1]
        state = f"failed: {done['error']}" if "error" in done else f"built in {done['build_s']:.1f} s"
        print(f"  {case['name']}: {state}", file=sys.stderr, flush=True)
    out = Path(out_path)
    partial = out.with_name(out.name + ".partial")
    partial.write_text(json.dumps(result, default=str))
    partial.replace(out)  # the parent never reads half a file
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
