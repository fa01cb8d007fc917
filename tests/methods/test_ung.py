"""The `ung` method: declared parameters, label translation, filters, persistence."""

from __future__ import annotations

import numpy as np
import pytest

from fanns_bench.errors import ConfigError, MethodError
from fanns_bench.filters.predicates import And, Contains, ContainsAll, Eq, Range
from fanns_bench.methods.base import FilterBatch
from fanns_bench.methods.registry import get_method
from fanns_bench.methods.ung.method import Ung

K = 10
SMALL = dict(label_attribute="category,tags", max_degree=16, L_build=60, num_cross_edges=6)


@pytest.fixture(scope="module")
def built(tiny_dataset):
    method = Ung(metric="ip", threads=2, **SMALL)
    method.build(tiny_dataset)
    yield method
    method.close()


def batch(dataset, predicates) -> tuple[np.ndarray, FilterBatch, list[np.ndarray]]:
    queries = np.ascontiguousarray(dataset.queries[: len(predicates)])
    filters = FilterBatch.of(list(predicates), dataset.attribute_index)
    return queries, filters, [dataset.attributes.ids(p) for p in predicates]


def search(method, queries, filters: FilterBatch, k: int, **params) -> np.ndarray:
    return method.search(queries, method.prepare_filters(filters), k, **method.search_params(params))


def test_registered_with_declared_parameters():
    assert get_method("ung") is Ung
    assert Ung(metric="ip").build_params["num_cross_edges"] == 6
    with pytest.raises(ConfigError, match="num_cros"):
        Ung(metric="ip", num_cros_edges=3)
    with pytest.raises(ConfigError, match="scenario"):
        Ung(metric="ip", scenario="overlap")


def test_supported_shapes_follow_label_attributes(tiny_dataset):
    kinds = tiny_dataset.attributes.kinds
    method = Ung(metric="ip", label_attribute="category,tags")
    assert method.unsupported_reason(Eq("category", "c01"), kinds) is None
    assert method.unsupported_reason(Contains("tags", "t001"), kinds) is None
    assert (
        method.unsupported_reason(And((Eq("category", "c01"), ContainsAll("tags", ("t1", "t2")))), kinds)
        is None
    )
    assert "label attribute" in method.unsupported_reason(Eq("other", 1), kinds)
    assert method.unsupported_reason(Range("score", 0, 5), kinds)
    assert method.unsupported_reason(None, kinds)
    equality = Ung(metric="ip", label_attribute="category", scenario="equality")
    assert equality.unsupported_reason(Eq("category", "c01"), kinds) is None
    assert "equality" in Ung(metric="ip", label_attribute="tags", scenario="equality").unsupported_reason(
        Contains("tags", "t001"), kinds
    )


def test_results_match_the_filter_with_high_recall(built, tiny_dataset):
    tags = [t for row in tiny_dataset.attributes.column("tags").to_pylist() for t in row]
    common = max(set(tags), key=tags.count)
    predicates = [
        Eq("category", "c00"),
        Contains("tags", common),
        And((Eq("category", "c01"), Contains("tags", common))),
    ]
    queries, filters, match_ids = batch(tiny_dataset, predicates * 10)
    prepared = built.prepare_filters(filters)
    assert len(prepared.offsets) == 4  # three distinct label sets
    ids = built.search(queries, prepared, K, **built.search_params({"L_search": 200}))
    hits = total = 0
    for query, (row, allowed) in enumerate(zip(ids, match_ids, strict=True)):
        assert np.isin(row[row >= 0], allowed).all()
        scores = tiny_dataset.vectors[allowed] @ queries[query]
        best = allowed[np.argsort(-scores, kind="stable")[:K]]
        hits += len(set(best.tolist()) & set(row.tolist()))
        total += min(K, len(allowed))
    assert hits / total >= 0.9
    assert built.stats()["distance_computations"] > 0 and built.memory_bytes() > 0


def test_unknown_value_returns_nothing(built, tiny_dataset):
    queries, filters, _ = batch(tiny_dataset, [Eq("category", "no-such-value")] * 3)
    assert (search(built, queries, filters, K) == -1).all()


def test_threads_do_not_change_results(built, tiny_dataset):
    queries, filters, _ = batch(tiny_dataset, [Eq("category", "c02")] * 20)
    one = Ung(metric="ip", threads=1, **SMALL)
    one._index, one._labels, one._kinds = built._index, built._labels, built._kinds
    assert np.array_equal(search(one, queries, filters, K), search(built, queries, filters, K))


def test_save_load_round_trip(built, tiny_dataset, tmp_path):
    queries, filters, _ = batch(tiny_dataset, [Eq("category", "c03")] * 5)
    built.save(tmp_path / "ung.bin")
    loaded = Ung(metric="ip", **SMALL)
    loaded.load(tmp_path / "ung.bin")
    assert np.array_equal(search(loaded, queries, filters, K), search(built, queries, filters, K))
    other = Ung(metric="ip", **{**SMALL, "label_attribute": "category"})
    with pytest.raises(MethodError, match="label attributes"):
        other.load(tmp_path / "ung.bin")
    (tmp_path / "bad.bin").write_bytes(b"nonsense")
    with pytest.raises(MethodError, match="corrupt"):
        loaded.load(tmp_path / "bad.bin")


def test_search_before_build_is_an_error(tiny_dataset):
    queries, filters, _ = batch(tiny_dataset, [Eq("category", "c00")])
    with pytest.raises(MethodError, match="build"):
        search(Ung(metric="ip"), queries, filters, K)


def test_translator_implements_every_kind_the_method_claims():
    from fanns_bench.methods.ung.labels import QueryLabels

    assert Ung.capabilities <= handled(QueryLabels)


def handled(visitor) -> set[str]:
    """The predicate kinds a translator implements itself."""
    from fanns_bench.filters.predicates import OPS
    from fanns_bench.filters.visitor import PredicateVisitor

    return {
        op for op in OPS if getattr(visitor, f"visit_{op}") is not getattr(PredicateVisitor, f"visit_{op}")
    }
