"""The `nhq_nsw` / `nhq_kgraph` methods: declared parameters, translation, approximate filtering."""

from __future__ import annotations

import numpy as np
import pytest

from fanns_bench.errors import ConfigError, MethodError
from fanns_bench.filters.predicates import And, Contains, Eq, Range
from fanns_bench.methods.base import FilterBatch
from fanns_bench.methods.nhq.method import NhqKGraph, NhqNsw
from fanns_bench.methods.registry import get_method

K = 10
SMALL = {
    "nhq_nsw": dict(M=16, ef_construction=80),
    "nhq_kgraph": dict(K=40, L=40, iter=6, S=10, R=100, RANGE=30, PL=50),
}
WIDE = {"nhq_nsw": dict(ef_search=1000), "nhq_kgraph": dict(L_search=400)}


@pytest.fixture(scope="module", params=sorted(SMALL))
def built(request, tiny_dataset):
    method = get_method(request.param)(metric="ip", threads=2, deterministic=True, **SMALL[request.param])
    method.build(tiny_dataset)
    yield method
    method.close()


def batch(dataset, predicates):
    queries = np.ascontiguousarray(dataset.queries[: len(predicates)])
    filters = FilterBatch.of(list(predicates), dataset.attribute_index)
    return queries, filters, [dataset.attributes.ids(p) for p in predicates]


def search(method, queries, filters: FilterBatch, k: int, **params) -> np.ndarray:
    return method.search(queries, method.prepare_filters(filters), k, **method.search_params(params))


def test_registered_with_declared_parameters():
    assert get_method("nhq_nsw") is NhqNsw and get_method("nhq_kgraph") is NhqKGraph
    assert NhqKGraph(metric="ip").build_params["RANGE"] == 70
    assert NhqNsw.search_parameters["weight_search"].default == 1e6
    with pytest.raises(ConfigError, match="ef_construction"):
        NhqNsw(metric="ip", ef_construction="many")


def test_only_full_attribute_equality_is_supported(tiny_dataset):
    kinds = tiny_dataset.attributes.kinds
    single = NhqNsw(metric="ip", attributes="category")
    assert single.unsupported_reason(Eq("category", "c01"), kinds) is None
    assert single.unsupported_reason(Contains("tags", "t001"), kinds)
    assert single.unsupported_reason(Range("score", 0, 3), kinds)
    assert single.unsupported_reason(None, kinds)
    assert single.unsupported_reason(And((Eq("category", "c01"), Eq("category", "c02"))), kinds)
    scalar = [name for name, kind in kinds.items() if kind != "set" and name != "category"][0]
    double = NhqNsw(metric="ip", attributes=f"category,{scalar}")
    assert "one eq on each" in double.unsupported_reason(Eq("category", "c01"), kinds)
    assert double.unsupported_reason(And((Eq("category", "c01"), Eq(scalar, 3))), kinds) is None


def test_wide_search_returns_matching_items_with_high_recall(built, tiny_dataset):
    predicates = [Eq("category", "c00"), Eq("category", "c03")] * 10
    queries, filters, match_ids = batch(tiny_dataset, predicates)
    prepared = built.prepare_filters(filters)
    assert prepared.codes.shape == (2, 1)
    ids = built.search(queries, prepared, K, **built.search_params(WIDE[built.name]))
    hits = total = 0
    for query, (row, allowed) in enumerate(zip(ids, match_ids, strict=True)):
        assert np.isin(row, allowed).all()
        best = allowed[np.argsort(-(tiny_dataset.vectors[allowed] @ queries[query]), kind="stable")[:K]]
        hits += len(set(best.tolist()) & set(row.tolist()))
        total += K
    assert hits / total >= 0.9
    assert built.stats()["distance_computations"] > 0 and built.memory_bytes() > 0


def test_value_nobody_has_returns_non_matching_items(built, tiny_dataset):
    """Approximate filtering: NHQ still returns k items; the harness counts them as violations."""
    queries, filters, _ = batch(tiny_dataset, [Eq("category", "no-such-value")] * 3)
    ids = search(built, queries, filters, K)
    assert (ids >= 0).all()


def test_save_load_round_trip(built, tiny_dataset, tmp_path):
    queries, filters, _ = batch(tiny_dataset, [Eq("category", "c02")] * 5)
    built.save(tmp_path / "nhq.bin")
    loaded = get_method(built.name)(metric="ip", **SMALL[built.name])
    loaded.load(tmp_path / "nhq.bin")
    assert np.array_equal(search(loaded, queries, filters, K), search(built, queries, filters, K))
    with pytest.raises(MethodError, match="corrupt"):
        (tmp_path / "bad.bin").write_bytes(b"nonsense")
        loaded.load(tmp_path / "bad.bin")


def test_search_before_build_is_an_error(tiny_dataset):
    queries, filters, _ = batch(tiny_dataset, [Eq("category", "c00")])
    with pytest.raises(MethodError, match="build"):
        search(NhqNsw(metric="ip"), queries, filters, K)


def test_translator_implements_every_kind_the_methods_claim():
    from fanns_bench.methods.nhq.codes import QueryValues

    assert NhqNsw.capabilities <= handled(QueryValues) and NhqKGraph.capabilities <= handled(QueryValues)


def handled(visitor) -> set[str]:
    """The predicate kinds a translator implements itself."""
    from fanns_bench.filters.predicates import OPS
    from fanns_bench.filters.visitor import PredicateVisitor

    return {
        op for op in OPS if getattr(visitor, f"visit_{op}") is not getattr(PredicateVisitor, f"visit_{op}")
    }


def test_kgraph_b_is_truncated_as_the_authors_code_unless_fractional(tiny_dataset):
    """The authors read B into an unsigned (0.5 -> 0: no two-hop candidates); fractional_b
    keeps the documented fraction, which adds two-hop candidates and so changes the graph."""
    graphs = {}
    for fractional in (False, True):
        method = NhqKGraph(
            metric="ip", deterministic=True, fractional_b=fractional, B=0.5, **SMALL["nhq_kgraph"]
        )
        method.build(tiny_dataset)
        graphs[fractional] = (method._built().params["B"], method._built().graph_stats())
        method.close()
    assert graphs[False][0] == 0.0 and graphs[True][0] == 0.5
    assert graphs[False][1] != graphs[True][1]
