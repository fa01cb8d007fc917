"""The `irangegraph` and `digra` methods: value ranges as positions, support, persistence."""

from __future__ import annotations

import numpy as np
import pytest

from fanns_bench.errors import ConfigError, MethodError
from fanns_bench.filters.predicates import Contains, Eq, Range
from fanns_bench.methods.base import FilterBatch
from fanns_bench.methods.digra.method import Digra
from fanns_bench.methods.irangegraph.method import IRangeGraph
from fanns_bench.methods.registry import get_method
from fanns_bench.scoring import exact_filtered_top_k

K = 10
SMALL = {
    "irangegraph": dict(M=12, ef_construction=60, attribute="score"),
    "digra": dict(M=12, ef_construction=60, fanout=4, leaf_size=32, attribute="score"),
}
KINDS = {"score": "ordered", "category": "categorical", "tags": "set"}


@pytest.fixture(scope="module", params=sorted(SMALL))
def built(request, tiny_dataset):
    method = get_method(request.param)(metric="ip", threads=2, **SMALL[request.param])
    method.build(tiny_dataset)
    yield method
    method.close()


def search(method, dataset, predicates, **params) -> tuple[np.ndarray, FilterBatch]:
    queries = np.ascontiguousarray(dataset.queries[: len(predicates)])
    filters = FilterBatch.of(list(predicates), dataset.attribute_index)
    ids = method.search(queries, method.prepare_filters(filters), K, **method.search_params(params))
    return ids, filters


def test_both_are_registered_for_ranges_on_one_ordered_attribute():
    assert get_method("irangegraph") is IRangeGraph and get_method("digra") is Digra
    for cls in (IRangeGraph, Digra):
        assert cls.capabilities == {"range", "none"} and cls.missing_dependencies() == []
        method = cls(metric="ip", attribute="score")
        assert method.unsupported_reason(Range("score", 1, 5), KINDS) is None
        assert method.unsupported_reason(None, KINDS) is None
        assert "score" in method.unsupported_reason(Range("other", 1, 5), {**KINDS, "other": "ordered"})
        assert method.unsupported_reason(Eq("category", "c00"), KINDS)
        assert method.unsupported_reason(Contains("tags", "t000"), KINDS)
        assert "not an ordered" in method.unsupported_reason(Range("score", 1, 5), {"score": "categorical"})
        assert cls(metric="ip").build_params["attribute"] == "update_date"


def test_value_ranges_give_exactly_the_matching_ids(built, tiny_dataset):
    values = np.sort(tiny_dataset.attributes.column("score").to_numpy())
    predicates = [
        Range("score", int(values[100]), int(values[400])),  # inclusive bounds, ties kept together
        Range("score", None, int(values[30])),  # open low end
        Range("score", int(values[1490]), None),  # open high end
        Range("score", 20_000, 30_000),  # empty
        None,
    ] * 4
    ids, filters = search(built, tiny_dataset, predicates, ef_search=400)
    for row, allowed, query in zip(
        ids,
        [tiny_dataset.attributes.ids(p) for p in predicates],
        tiny_dataset.queries[: len(ids)],
        strict=True,
    ):
        expected, _ = exact_filtered_top_k(query, tiny_dataset.vectors, allowed, K, "ip")
        np.testing.assert_array_equal(row[: len(expected)], expected)
        assert (row[len(expected) :] == -1).all()
    assert built.stats()["distance_computations"] > 0
    assert built.memory_bytes() > tiny_dataset.vectors.nbytes


def test_other_predicates_are_refused_with_a_clear_error(built, tiny_dataset):
    with pytest.raises(MethodError, match="score"):
        search(built, tiny_dataset, [Eq("category", "c00")], ef_search=10)


def test_a_missing_attribute_is_refused_at_build(tiny_dataset):
    with pytest.raises(MethodError, match="update_date"):
        IRangeGraph(metric="ip").build(tiny_dataset)
    with pytest.raises(ConfigError):
        Digra(metric="ip", fanout=1)


def test_save_and_load_round_trip(built, tiny_dataset, tmp_path):
    path = tmp_path / "index.bin"
    built.save(path)
    loaded = get_method(built.name)(metric="ip", **SMALL[built.name])
    loaded.load(path)
    predicates = [Range("score", 1000, 4000)] * 10
    np.testing.assert_array_equal(
        search(built, tiny_dataset, predicates, ef_search=20)[0],
        search(loaded, tiny_dataset, predicates, ef_search=20)[0],
    )
    other = get_method(built.name)(metric="ip", **{**SMALL[built.name], "M": 16})
    with pytest.raises(MethodError, match="expected"):
        other.load(path)


def test_digra_approximate_variant_may_leave_the_range(tiny_dataset):
    method = Digra(metric="ip", **SMALL["digra"])
    method.build(tiny_dataset)
    values = np.sort(tiny_dataset.attributes.column("score").to_numpy())
    predicates = [Range("score", int(values[200]), int(values[300]))] * 20
    ids, filters = search(method, tiny_dataset, predicates, ef_search=50, strict=False)
    outside = sum(
        int((~np.isin(row[row >= 0], allowed)).sum())
        for row, allowed in zip(ids, [tiny_dataset.attributes.ids(p) for p in predicates], strict=True)
    )
    assert outside > 0
    strict, _ = search(method, tiny_dataset, predicates, ef_search=50, strict=True)
    assert all(
        np.isin(row[row >= 0], allowed).all()
        for row, allowed in zip(strict, [tiny_dataset.attributes.ids(p) for p in predicates], strict=True)
    )
