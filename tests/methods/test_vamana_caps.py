"""The `filtered_vamana`, `stitched_vamana` and `caps` adapters: parameters, filter
translation through the predicate visitor, thread independence and save/load."""

from __future__ import annotations

import numpy as np
import pytest

from fanns_bench.data import synthetic
from fanns_bench.errors import ConfigError, MethodError
from fanns_bench.filters.predicates import And, Contains, Eq, Range
from fanns_bench.methods.base import FilterBatch, run_search
from fanns_bench.methods.registry import get_method

K = 10
BUILDS = {
    "filtered_vamana": {"label_attribute": "category,tags", "R": 24, "L": 50, "paper_prune": True},
    "stitched_vamana": {"label_attribute": "category,tags", "R_small": 16, "L_small": 40, "R_stitched": 24},
    "caps": {"label_attribute": "category,score", "clusters": 16},
}
SEARCH = {
    "filtered_vamana": {"L_search": 80},
    "stitched_vamana": {"L_search": 80},
    "caps": {"max_distances": 400},
}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return synthetic.build(
        tmp_path_factory.mktemp("vc") / "d",
        "d",
        count=1500,
        queries=30,
        dimension=16,
        latent_dimension=6,
        clusters=8,
        categories=6,
        tags=12,
        seed=3,
    )


@pytest.fixture(scope="module", params=sorted(BUILDS))
def built(request, dataset):
    method = get_method(request.param)(metric=dataset.metric, threads=1, **BUILDS[request.param])
    method.build(dataset)
    yield request.param, method
    method.close()


def batch(dataset, predicates) -> FilterBatch:
    return FilterBatch.of(predicates, dataset.attribute_index)


def predicates_for(name: str, dataset) -> list:
    categories = sorted(set(dataset.attributes.column("category").to_pylist()))
    if name == "caps":
        score = dataset.attributes.column("score").to_pylist()[0]
        return [Eq("category", categories[i % len(categories)]) for i in range(20)] + [
            And((Eq("category", categories[0]), Eq("score", score))),
            Eq("category", "no-such-value"),
        ]
    tags = sorted({t for row in dataset.attributes.column("tags").to_pylist() for t in row})
    return (
        [Eq("category", categories[i % len(categories)]) for i in range(15)]
        + [Contains("tags", tags[i % len(tags)]) for i in range(10)]
        + [Eq("category", "no-such-value")]
    )


def test_results_satisfy_filters_and_threads_agree(built, dataset):
    name, method = built
    predicates = predicates_for(name, dataset)
    queries = np.ascontiguousarray(np.resize(dataset.queries, (len(predicates), dataset.dimension)))
    filters = batch(dataset, predicates)
    prepared = method.prepare_filters(filters)
    ids = method.search(queries, prepared, K, **SEARCH[name])
    for row, allowed in zip(ids, [dataset.attributes.ids(p) for p in predicates], strict=True):
        returned = row[row >= 0]
        assert np.isin(returned, allowed).all()
    assert (ids[-1] == -1).all()  # a value no item carries
    method.threads = 2
    assert np.array_equal(method.search(queries, method.prepare_filters(filters), K, **SEARCH[name]), ids)
    method.threads = 1
    assert method.stats()["distance_computations"] > 0
    assert method.memory_bytes() > dataset.count * dataset.dimension * 4


def test_save_load_round_trip(built, dataset, tmp_path):
    name, method = built
    predicates = predicates_for(name, dataset)[:10]
    queries = np.ascontiguousarray(dataset.queries[:10])
    expected = run_search(method, queries, predicates, dataset.attribute_index, K, **SEARCH[name])
    method.save(tmp_path / "index")
    fresh = get_method(name)(metric=dataset.metric, threads=1, **BUILDS[name])
    fresh.load(tmp_path / "index")
    found = run_search(fresh, queries, predicates, dataset.attribute_index, K, **SEARCH[name])
    assert np.array_equal(found, expected)
    (tmp_path / "index" / "labels.pkl").write_bytes(b"junk")
    with pytest.raises(MethodError, match="label vocabulary"):
        fresh.load(tmp_path / "index")


def test_declared_shapes(dataset):
    kinds = dataset.attributes.kinds
    vamana = get_method("filtered_vamana")(metric="ip", label_attribute="category")
    assert vamana.unsupported_reason(Eq("category", "c00"), kinds) is None
    assert vamana.unsupported_reason(None, kinds) is None
    assert "built on labels" in vamana.unsupported_reason(Contains("tags", "t000"), kinds)
    assert "one label per query" in vamana.unsupported_reason(Range("score", 1, 2), kinds)
    stitched = get_method("stitched_vamana")(metric="ip", label_attribute="category")
    assert "filtered queries only" in stitched.unsupported_reason(None, kinds)
    caps = get_method("caps")(metric="ip", label_attribute="category,score")
    assert caps.unsupported_reason(And((Eq("category", "c00"), Eq("score", 3))), kinds) is None
    assert "equalities" in caps.unsupported_reason(Contains("tags", "t000"), kinds)
    assert "built on the attributes" in caps.unsupported_reason(Eq("published", 3), kinds)


def test_parameters_are_checked():
    with pytest.raises(ConfigError, match="label_attribute"):
        get_method("filtered_vamana")(metric="ip")
    with pytest.raises(ConfigError, match="unknown build parameter 'graph_degree'"):
        get_method("filtered_vamana")(metric="ip", label_attribute="category", graph_degree=3)
    with pytest.raises(ConfigError, match="'R_small'"):
        get_method("stitched_vamana")(metric="ip", label_attribute="category", R_small="wide")
    with pytest.raises(ConfigError, match="unknown search parameter"):
        get_method("caps").search_params({"nprobe": 3})
