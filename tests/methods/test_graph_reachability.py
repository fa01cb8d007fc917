"""Every item of a graph index can be found: searched with its own vector under an all-pass
filter, each item is returned (a node no search can reach is a construction defect: no
in-links, or in-links only where the search never looks). One check per graph method, on
an index built with 2 threads, as the runner builds (parallel builds once left ACORN-γ with
islands of unreachable nodes, from two races: fanns_bench/methods/acorn/README.md; a race does
not show on every build, so this check catches one sometimes, not always; the ACORN core's
tests/core/test_acorn.py preempts an insertion on purpose)."""

from __future__ import annotations

import pytest

from fanns_bench.conformance import method_config, method_point, unreachable_items
from fanns_bench.methods.registry import get_method, method_names
from tests.dataset_factory import reachability_dataset

GRAPH_METHODS = (
    "acorn_gamma",
    "acorn_1",
    "acorn_gamma_ref",
    "acorn_1_ref",
    "faiss_hnsw",
    "hnswlib",
    "usearch_postfilter",
    "qdrant_hnsw",
    "qdrant_acorn",
    "kannolo_acorn_1",
    "kannolo_acorn_gamma",
    "diskann_filtered",
    "filtered_vamana",
    "stitched_vamana",
    "ung",
    "nhq_nsw",
    "nhq_kgraph",
    "digra",
    "irangegraph",
)

# Libraries we do not build ourselves, where the check found unreachable items: reported as
# expected failures (the library's construction, not ours).
KNOWN_UNREACHABLE = {
    "usearch_postfilter": "usearch's parallel build left 1 of 2000 items unreachable in one of two runs",
}


def graph_methods() -> list:
    params = []
    for name in GRAPH_METHODS:
        if name not in method_names():
            continue
        marks = [pytest.mark.slow] if getattr(get_method(name), "environment", None) else []
        params.append(pytest.param(name, marks=marks, id=name))
    return params


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return reachability_dataset(tmp_path_factory.mktemp("reachability") / "r")


@pytest.mark.parametrize("name", graph_methods())
def test_every_item_is_reachable(name, dataset):
    cls = get_method(name)
    missing = cls.missing_dependencies()
    if missing:
        pytest.skip(f"{name}: not installed ({', '.join(missing)})")
    build_params, search_params = method_point(name, method_config(name))
    method = cls(metric=dataset.metric, threads=2, **build_params)
    reason = method.unsupported_reason(None, dataset.attributes.kinds)
    if reason is not None:
        pytest.skip(f"{name}: no all-pass search ({reason})")
    try:
        method.build(dataset)
        unreachable = unreachable_items(method, dataset, **search_params)
    finally:
        method.close()
    if unreachable and name in KNOWN_UNREACHABLE:
        pytest.xfail(f"{name}: {len(unreachable)} unreachable: {KNOWN_UNREACHABLE[name]}")
    assert unreachable == [], f"{name}: {len(unreachable)} items never returned, e.g. {unreachable[:10]}"
