"""The `acorn_gamma` / `acorn_1` methods: protocol, filters, errors, persistence."""

from __future__ import annotations

import numpy as np
import pytest

from fanns_bench.errors import ConfigError, MethodError
from fanns_bench.filters.attribute_index import AttributeIndex
from fanns_bench.filters.evaluate import AttributeTable
from fanns_bench.filters.predicates import Eq, Range
from fanns_bench.methods.acorn.method import Acorn1, AcornGamma
from fanns_bench.methods.acorn.ref import AcornGammaRef, ByteSets, byte_sets
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
    return queries, FilterBatch.of(list(predicates), dataset.attribute_index)


def search(method, queries, filters: FilterBatch, k: int, **params) -> np.ndarray:
    return method.search(queries, method.prepare_filters(filters), k, **method.search_params(params))


def test_both_variants_are_registered_with_their_protocol_attributes():
    assert get_method("acorn_gamma") is AcornGamma and get_method("acorn_1") is Acorn1
    for cls in (AcornGamma, Acorn1):
        assert cls.capabilities == ANY_FILTER and cls.threading == "threads"
        assert cls.missing_dependencies() == []


def test_search_returns_only_matching_ids_and_reports_distance_counts(built, tiny_dataset):
    predicates = [Eq("category", "c00"), Range("score", 0, 200), None, Eq("category", "c05")] * 5
    queries, filters = batch(tiny_dataset, predicates)
    ids = search(built, queries, filters, K, ef_search=32)
    assert ids.shape == (len(queries), K) and ids.dtype == np.int64
    for row, allowed in zip(ids, [tiny_dataset.attributes.ids(p) for p in predicates], strict=True):
        found = row[row >= 0]
        assert np.isin(found, allowed).all() and len(found) == min(K, len(allowed))
    assert built.stats()["distance_computations"] > 0
    assert built.memory_bytes() > tiny_dataset.vectors.nbytes


def test_low_selectivity_recall(built, tiny_dataset):
    predicate = Range("score", 0, 99)  # about 1 % of the items
    queries, filters = batch(tiny_dataset, [predicate] * 40)
    ids = search(built, queries, filters, K, ef_search=64)
    allowed = filters.match_ids()[0]
    truth = [exact_filtered_top_k(q, tiny_dataset.vectors, allowed, K, "ip")[0] for q in queries]
    recall = np.mean([len(np.intersect1d(a, b)) / len(b) for a, b in zip(ids, truth, strict=True)])
    assert recall >= 0.9


def test_save_and_load_round_trip(built, tiny_dataset, tmp_path):
    queries, filters = batch(tiny_dataset, [Eq("category", "c01")] * 10)
    built.save(tmp_path / "index.acorn")
    fresh = type(built)(metric="ip", threads=1, **SMALL[built.name])
    fresh.load(tmp_path / "index.acorn")
    np.testing.assert_array_equal(search(fresh, queries, filters, K), search(built, queries, filters, K))
    other = (Acorn1 if built.name == "acorn_gamma" else AcornGamma)(metric="ip")
    with pytest.raises(MethodError, match="expected"):
        other.load(tmp_path / "index.acorn")


def test_deterministic_builds_ignore_the_thread_count(tiny_dataset):
    queries, filters = batch(tiny_dataset, [Eq("category", "c00")] * 10)
    results = []
    for threads in (1, 2):
        method = AcornGamma(metric="ip", threads=threads, deterministic=True, seed=3, **SMALL["acorn_gamma"])
        method.build(tiny_dataset)
        results.append(search(method, queries, filters, K, ef_search=16))
    np.testing.assert_array_equal(*results)


def test_bad_input_raises_method_errors(built, tiny_dataset):
    queries, filters = batch(tiny_dataset, [None] * 3)
    with pytest.raises(MethodError, match=r"queries must have shape \(n, 16\), got \(3, 8\)"):
        search(built, np.ascontiguousarray(queries[:, :8]), filters, K)
    other = AttributeIndex(AttributeTable(tiny_dataset.attributes.table.slice(0, 1500)))
    with pytest.raises(MethodError, match="filters cover 1500 items and 2 queries"):
        search(built, queries, FilterBatch.of([Eq("category", "c00")] * 2, other), K)
    with pytest.raises(ConfigError, match="ef_search.*expected >= 1"):
        search(built, queries, filters, K, ef_search=0)
    with pytest.raises(MethodError, match="call build"):
        search(AcornGamma(metric="ip"), queries, filters, K)
    with pytest.raises(ConfigError, match="storage.*expected one of"):
        AcornGamma(metric="ip", storage="int8")
    with pytest.raises(MethodError, match="M_beta must be in"):
        AcornGamma(metric="ip", M=8, gamma=2, M_beta=40).build(tiny_dataset)
    with pytest.raises(MethodError, match="built for metric 'l2'"):
        Acorn1(metric="l2").build(tiny_dataset)


@pytest.fixture(scope="module")
def built_ref(tiny_dataset):
    method = AcornGammaRef(metric="ip", threads=1, M=8, gamma=4, M_beta=8, deterministic=True)
    method.build(tiny_dataset)
    yield method
    method.close()


def test_ref_byte_maps_give_the_answers_of_the_id_sets(built_ref, tiny_dataset):
    """The reference methods hand their search a byte per item and set, built in
    `prepare_filters`; the ids and distance counts are those of the per-query id sets."""
    predicates = [Eq("category", "c00"), Range("score", 0, 99), None, Range("score", 0, 6000)] * 5
    queries, filters = batch(tiny_dataset, predicates)
    prepared = built_ref.prepare_filters(filters)
    assert prepared.maps is not None and prepared.maps.sets == prepared.sets.count == 3
    by_maps = built_ref.search(queries, prepared, K, ef_search=32)
    counts = built_ref.stats()
    by_ids = built_ref.search(queries, ByteSets(prepared.sets, None), K, ef_search=32)
    np.testing.assert_array_equal(by_maps, by_ids)
    assert counts == built_ref.stats() and counts["distance_computations"] > 0


def test_ref_byte_maps_stay_within_their_budget(tiny_dataset):
    """Maps of `sets x items` bytes are built within the budget, or when no larger than the id
    sets' 8 bytes per member; otherwise the id sets alone (and none when nothing filters)."""
    n = tiny_dataset.count
    _, narrow = batch(tiny_dataset, [Range("score", 0, 99)] * 4)  # about 1 %: 8 x 15 bytes < n
    _, broad = batch(tiny_dataset, [Range("score", 0, 6000)] * 4)  # more than 1/8 of the items
    assert byte_sets(narrow, budget=n - 1).maps is None
    assert byte_sets(narrow, budget=n).maps is not None
    wide = byte_sets(broad, budget=0)
    assert wide.sets.ids.nbytes >= n and wide.maps is not None
    assert byte_sets(batch(tiny_dataset, [None] * 4)[1]).maps is None
