"""The `acorn_gamma` / `acorn_1` methods: protocol, filters, errors, persistence."""

from __future__ import annotations

import numpy as np
import pytest

from fanns_bench.errors import MethodError
from fanns_bench.filters.predicates import Eq, Range
from fanns_bench.methods.acorn.filter_sets import filter_sets
from fanns_bench.methods.acorn.method import Acorn1, AcornGamma
from fanns_bench.methods.base import ANY_FILTER, FilterBatch
from fanns_bench.methods.registry import get_method
from fanns_bench.scoring import exact_filtered_top_k

K = 10
SMALL = {
    "acorn_gamma": dict(M=8, gamma=4, M_beta=8, ef_construction=40),
    "acorn_1": dict(M=8, ef_construction=40),
}


@pytest.fixture(scope="module", params=sorted(SMALL))
def built(request, tiny_dataset):
    method = get_method(request.param)(metric="ip", threads=2, **SMALL[request.param])
    method.build(tiny_dataset)
    yield method
    method.close()


def batch(dataset, predicates) -> tuple[np.ndarray, FilterBatch]:
    queries = np.ascontiguousarray(dataset.queries[: len(predicates)])
    match_ids = [dataset.attributes.ids(p) for p in predicates]
    return queries, FilterBatch(list(predicates), match_ids, dataset.count)


def test_both_variants_are_registered_with_their_protocol_attributes():
    assert get_method("acorn_gamma") is AcornGamma and get_method("acorn_1") is Acorn1
    for cls in (AcornGamma, Acorn1):
        assert cls.capabilities == ANY_FILTER and cls.threading == "threads"
        assert cls.missing_dependencies() == []


def test_search_returns_only_matching_ids_and_reports_distance_counts(built, tiny_dataset):
    predicates = [Eq("category", "c00"), Range("score", 0, 200), None, Eq("category", "c05")] * 5
    queries, filters = batch(tiny_dataset, predicates)
    ids = built.search(queries, filters, K, ef_search=32)
    assert ids.shape == (len(queries), K) and ids.dtype == np.int64
    for row, allowed in zip(ids, filters.match_ids, strict=True):
        found = row[row >= 0]
        assert np.isin(found, allowed).all() and len(found) == min(K, len(allowed))
    assert built.stats()["distance_computations"] > 0
    assert built.memory_bytes() > tiny_dataset.vectors.nbytes


def test_low_selectivity_recall(built, tiny_dataset):
    predicate = Range("score", 0, 99)  # about 1 % of the items
    queries, filters = batch(tiny_dataset, [predicate] * 40)
    ids = built.search(queries, filters, K, ef_search=64)
    truth = [exact_filtered_top_k(q, tiny_dataset.vectors, filters.match_ids[0], K, "ip")[0] for q in queries]
    recall = np.mean([len(np.intersect1d(a, b)) / len(b) for a, b in zip(ids, truth, strict=True)])
    assert recall >= 0.9


def test_filter_sets_share_id_sets_between_queries():
    shared = np.array([1, 4, 7], dtype=np.int64)
    filters = FilterBatch(
        [Eq("a", 1), Eq("a", 1), Eq("a", 2), None, Eq("a", 1)],
        [shared, shared.copy(), np.array([2], np.int64), np.arange(10), np.array([1, 4], np.int64)],
        10,
    )
    sets = filter_sets(filters)
    np.testing.assert_array_equal(sets.rows, [0, 0, 1, -1, 2])
    np.testing.assert_array_equal(sets.offsets, [0, 3, 4, 6])
    np.testing.assert_array_equal(sets.ids, [1, 4, 7, 2, 1, 4])
    assert not sets.unfiltered
    assert filter_sets(FilterBatch([None, None], [np.arange(10)] * 2, 10)).unfiltered


def test_save_and_load_round_trip(built, tiny_dataset, tmp_path):
    queries, filters = batch(tiny_dataset, [Eq("category", "c01")] * 10)
    built.save(tmp_path / "index.acorn")
    fresh = type(built)(metric="ip", threads=1, **SMALL[built.name])
    fresh.load(tmp_path / "index.acorn")
    np.testing.assert_array_equal(fresh.search(queries, filters, K), built.search(queries, filters, K))
    other = (Acorn1 if built.name == "acorn_gamma" else AcornGamma)(metric="ip")
    with pytest.raises(MethodError, match="expected"):
        other.load(tmp_path / "index.acorn")


def test_deterministic_builds_ignore_the_thread_count(tiny_dataset):
    queries, filters = batch(tiny_dataset, [Eq("category", "c00")] * 10)
    results = []
    for threads in (1, 2):
        method = AcornGamma(metric="ip", threads=threads, deterministic=True, seed=3, **SMALL["acorn_gamma"])
        method.build(tiny_dataset)
        results.append(method.search(queries, filters, K, ef_search=16))
    np.testing.assert_array_equal(*results)


def test_bad_input_raises_method_errors(built, tiny_dataset):
    queries, filters = batch(tiny_dataset, [None] * 3)
    with pytest.raises(MethodError, match=r"queries must have shape \(n, 16\), got \(3, 8\)"):
        built.search(np.ascontiguousarray(queries[:, :8]), filters, K)
    with pytest.raises(MethodError, match="filters cover 1500 items and 2 queries"):
        built.search(queries, FilterBatch([None] * 2, [np.arange(1500)] * 2, 1500), K)
    with pytest.raises(MethodError, match="ef_search must be >= 1"):
        built.search(queries, filters, K, ef_search=0)
    with pytest.raises(MethodError, match="call build"):
        AcornGamma(metric="ip").search(queries, filters, K)
    with pytest.raises(MethodError, match="storage must be one of"):
        AcornGamma(metric="ip", storage="int8")
    with pytest.raises(MethodError, match="M_beta must be in"):
        AcornGamma(metric="ip", M=8, gamma=2, M_beta=40).build(tiny_dataset)
    with pytest.raises(MethodError, match="built for metric 'l2'"):
        Acorn1(metric="l2").build(tiny_dataset)
