"""Whether a method's build is what it declares (`Method.deterministic_build`): two builds of
the same data with the same build parameters return the same ids for every query.

The check builds twice on a small dataset where approximate search misses neighbours (so two
different graphs answer differently), then searches with each search parameter's least
generous value (the one where a different index shows most). A method declared `always` is
built on `PARALLEL_THREADS` threads (thread scheduling must not matter), one declared
`one_thread` on one thread. `never` and `unknown` are not checked.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from fanns_bench.conformance import ConformanceError, method_config, method_point, search, shapes
from fanns_bench.data import synthetic
from fanns_bench.data.dataset import Dataset
from fanns_bench.methods.base import Method
from fanns_bench.methods.registry import get_method

K = 10
PARALLEL_THREADS = 2


def determinism_dataset(path: Path) -> Dataset:
    """3000 x 32 vectors with little structure (latent dimension 32, noise 0.3; seed 11) and
    the conformance attributes: hard enough that a different graph gives different ids."""
    return synthetic.build(
        path,
        "determinism",
        count=3000,
        queries=40,
        dimension=32,
        latent_dimension=32,
        clusters=12,
        categories=10,
        tags=30,
        noise=0.3,
        seed=11,
    )


def least_generous_search(config: dict[str, Any]) -> dict[str, Any]:
    """The first value of each search parameter in the method's config."""
    return {
        key: (values[0] if isinstance(values, list) else values)
        for key, values in (config.get("search") or {}).items()
    }


def check_threads(cls: type[Method]) -> int | None:
    """Build threads the check uses for a method (`None`: nothing is declared to check)."""
    return {"always": PARALLEL_THREADS, "one_thread": 1}.get(cls.deterministic_build)


def build_and_search(
    cls: type[Method],
    dataset: Dataset,
    build_params: dict[str, Any],
    search_params: dict[str, Any],
    threads: int,
) -> dict[str, np.ndarray]:
    """One build on `threads` threads; the ids of every filter shape the method answers."""
    kinds = dataset.attributes.kinds
    method = cls(metric=dataset.metric, threads=threads, **build_params)
    found = {}
    try:
        method.prepare_environment(dataset)
        method.build(dataset)
        for filter_type, predicates in shapes(dataset).items():
            if method.unsupported_reason(predicates[0], kinds) is None:
                queries = np.ascontiguousarray(dataset.queries[: len(predicates)])
                found[filter_type] = search(method, dataset, queries, predicates, K, **search_params)
    finally:
        method.close()
    return found


def differing_queries(first: dict[str, np.ndarray], second: dict[str, np.ndarray]) -> dict[str, int]:
    """Per filter shape, how many queries got different ids (shapes with none left out)."""
    counts = {shape: int((first[shape] != second[shape]).any(axis=1).sum()) for shape in first}
    return {shape: count for shape, count in counts.items() if count}


def check_deterministic(
    name: str, dataset: Dataset, cls: type[Method] | None = None, build_params: dict[str, Any] | None = None
) -> None:
    """Build method `name` twice as its declaration says; raise `ConformanceError` naming the
    filter shapes whose ids differ. `cls`/`build_params` replace the registered class and
    the config's first build point (for tests)."""
    cls = cls or get_method(name)
    threads = check_threads(cls)
    if threads is None:
        raise ConformanceError(
            f"{name}: declares deterministic_build={cls.deterministic_build!r}; nothing to check"
        )
    config = method_config(name)
    if build_params is None:
        build_params = method_point(name, config)[0]
    search_params = least_generous_search(config)
    runs = [build_and_search(cls, dataset, build_params, search_params, threads) for _ in range(2)]
    differing = differing_queries(*runs)
    if differing:
        detail = ", ".join(
            f"{shape}: {count} of {len(runs[0][shape])} queries" for shape, count in differing.items()
        )
        raise ConformanceError(
            f"{name} declares deterministic_build={cls.deterministic_build!r}, but two builds on "
            f"{threads} thread(s) returned different ids ({detail})"
        )


def run_determinism_check(name: str) -> str:
    """`check_deterministic` on a fresh dataset in a temporary directory; what was checked
    (or why nothing was). Raises `ConformanceError` when the two builds differ."""
    cls = get_method(name)
    threads = check_threads(cls)
    if threads is None:
        why = f": {cls.nondeterminism}" if cls.nondeterminism else ""
        return f"not checked (deterministic_build={cls.deterministic_build!r}{why})"
    with tempfile.TemporaryDirectory(prefix="fanns-determinism-") as tmp:
        check_deterministic(name, determinism_dataset(Path(tmp) / "data"))
    return f"{cls.deterministic_build}: two builds on {threads} thread(s) returned identical ids"
