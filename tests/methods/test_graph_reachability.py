"""Every item of a graph index can be found: searched with its own vector under an all-pass
filter, each item is returned (a node no search can reach is a construction defect: no
in-links, or in-links only where the search never looks). A method with no all-pass search
(label and attribute-equality graphs) is searched under each item's own `category` instead
(every item has one, so every item is searched for). One check per graph method, on an index
built with 2 threads, as the runner builds (parallel builds once left ACORN-γ with islands of
unreachable nodes, from two races: fanns_bench/methods/acorn/README.md; a race does not show
on every build, so this check catches one sometimes, not always; the ACORN core's
tests/core/test_acorn.py preempts an insertion on purpose)."""

from __future__ import annotations

import numpy as np
import pytest

from fanns_bench.conformance import method_config, method_point, unreachable_items
from fanns_bench.data.dataset import Dataset
from fanns_bench.filters.predicates import Eq, Predicate
from fanns_bench.methods.base import Method
from fanns_bench.methods.common.id_sets import IdSets
from fanns_bench.methods.exact.method import ExactPrefilter
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
    "serf",
    "dsg",
    "usearch_partition",
)

# Where the check found unreachable items, and why: a library we do not build ourselves, a paper
# method's published construction (compared with the authors' program where the reason says
# so), or a parallel build that varies run to run as the authors' does. Reported as expected
# failures up to the count given; more than that fails.
KNOWN_UNREACHABLE = {
    "usearch_postfilter": (
        20,
        "usearch 2.26's parallel build left 0-6 of 2000 items unreachable (median 2) in 20 two-thread "
        "builds, none in 20 one-thread builds",
    ),
    "dsg": (
        1,
        "the authors' pruning of each node's lowest-support 10 % of far edges drops every full-range "
        "in-edge of an item near the end of the order; their program leaves the same item "
        "unreachable (fanns_bench/methods/dsg/README.md)",
    ),
    "stitched_vamana": (
        3,
        "its parallel build re-prunes a full neighbour list from a copy and writes it back, losing "
        "a back-link another thread appended meanwhile, as DiskANN's inter_insert does "
        "(fanns_bench/methods/vamana/README.md, departure 7): 12 of 300 two-thread builds under load "
        "left 1-2 of 2000 items unreachable under their category, one-thread builds none",
    ),
    "nhq_nsw": (
        5,
        "its build on more than one thread races, as the authors' parallel n2 insertion does "
        "(fanns_bench/methods/nhq/README.md, departure 4): 21 of 50 two-thread builds left 1-2 of "
        "2000 items unreachable under their category (theirs: 1-4 in 20 of 150 under load), "
        "one-thread builds none",
    ),
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


def reachability_filters(method: Method, dataset: Dataset) -> list[Predicate | None]:
    """[None] (all-pass) where `method` searches unfiltered; else each `category` value's
    equality, where it answers those (the test skips a method that answers neither)."""
    kinds = dataset.attributes.kinds
    no_filter = method.unsupported_reason(None, kinds)
    if no_filter is None:
        return [None]
    values = sorted(set(dataset.attributes.column("category").to_pylist()))
    filters: list[Predicate | None] = [Eq("category", value) for value in values]
    if reason := next(filter(None, (method.unsupported_reason(f, kinds) for f in filters)), None):
        pytest.skip(f"{method.name}: neither an all-pass search ({no_filter}) nor one by category ({reason})")
    return filters


@pytest.mark.parametrize("name", graph_methods())
def test_every_item_is_reachable(name, dataset):
    cls = get_method(name)
    missing = cls.missing_dependencies()
    if missing:
        pytest.skip(f"{name}: not installed ({', '.join(missing)})")
    build_params, search_params = method_point(name, method_config(name))
    if "return_seeds" in cls.search_parameters:  # the graph, not the authors' seeds (README)
        search_params = {**search_params, "return_seeds": True}
    method = cls(metric=dataset.metric, threads=2, **build_params)
    filters = reachability_filters(method, dataset)
    try:
        method.build(dataset)
        unreachable = sorted(
            {i for f in filters for i in unreachable_items(method, dataset, f, **search_params)}
        )
    finally:
        method.close()
    limit, known = KNOWN_UNREACHABLE.get(name, (0, ""))
    if 0 < len(unreachable) <= limit:
        pytest.xfail(f"{name}: {len(unreachable)} unreachable {unreachable}: {known}")
    assert unreachable == [], f"{name}: {len(unreachable)} items never returned, e.g. {unreachable[:10]}"


class LosesOneItem(ExactPrefilter):
    """Exact search that never returns item `LOST` (a node without in-links, as it were)."""

    LOST = 7

    def search(self, queries: np.ndarray, filters: IdSets, k: int) -> np.ndarray:
        found = super().search(queries, filters, k)
        return np.where(found == self.LOST, -1, found)


def test_the_check_names_an_item_the_search_never_returns(dataset):
    """The check can fail: all-pass, and under the item's own category."""
    method = LosesOneItem(metric=dataset.metric)
    method.build(dataset)
    assert unreachable_items(method, dataset) == [LosesOneItem.LOST]
    categories = dataset.attributes.column("category")
    own = categories[LosesOneItem.LOST].as_py()
    assert unreachable_items(method, dataset, Eq("category", own)) == [LosesOneItem.LOST]
    other = next(value for value in categories.to_pylist() if value != own)
    assert unreachable_items(method, dataset, Eq("category", other)) == []
