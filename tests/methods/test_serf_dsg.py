"""The `serf` and `dsg` methods: value ranges to positions, results as item ids, declared
shapes, errors and persistence (on the shared small dataset: `year` 0..99, many ties)."""

from __future__ import annotations

import numpy as np
import pytest

from fanns_bench.errors import ConfigError, MethodError
from fanns_bench.filters.predicates import Eq, Range
from fanns_bench.methods.base import FilterBatch, run_search
from fanns_bench.methods.registry import get_method
from tests.methods.method_checks import batch_recall, check_satisfies_with_recall, recall, run, small_dataset

K = 10
SMALL = {
    "serf": dict(attribute="year", index_k=16, ef_construction=64, ef_max=200),
    "dsg": dict(attribute="year", M=12, ef_construction=64, ef_max=100),
}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return small_dataset(tmp_path_factory.mktemp("segment") / "small")


@pytest.fixture(scope="module", params=sorted(SMALL))
def built(request, dataset):
    method = get_method(request.param)(metric="ip", threads=1, **SMALL[request.param])
    method.build(dataset)
    yield method
    method.close()


@pytest.mark.parametrize(
    "predicate", [Range("year", 10, 19), Range("year", None, 4), Range("year", 90, None), None]
)
def test_value_ranges_return_matching_ids_with_high_recall(built, dataset, predicate):
    check_satisfies_with_recall(built, dataset, predicate, minimum=0.9, ef_search=128)


def test_each_query_gets_its_own_range_and_ties_are_all_included(built, dataset):
    queries = np.asarray(dataset.queries)
    predicates = [Range("year", y, y + 2 * (y % 5)) for y in range(len(queries))]  # 1 to 9 years wide
    found = run_search(built, queries, predicates, dataset.attribute_index, K, ef_search=128)
    match_ids = [dataset.attributes.ids(p) for p in predicates]
    for row, allowed in zip(found, match_ids, strict=True):
        assert np.isin(row[row >= 0], allowed).all()
    assert batch_recall(dataset, found, match_ids, K) >= 0.9
    # Position ranges cover exactly the items of each value range (ties on `year` included).
    prepared = built.prepare_filters(FilterBatch.of(predicates, dataset.attribute_index))
    assert list(prepared.stops - prepared.starts) == [len(ids) for ids in match_ids]


def test_an_empty_range_returns_only_padding(built, dataset):
    found = run_search(
        built, np.asarray(dataset.queries), [Range("year", 500, 600)] * 30, dataset.attribute_index, K
    )
    assert (found == -1).all()


def test_only_ranges_on_the_indexed_attribute_are_supported(built, dataset):
    kinds = dataset.attributes.kinds
    assert built.unsupported_reason(Range("year", 1, 2), kinds) is None
    assert built.unsupported_reason(None, kinds) is None
    assert "single range on 'year'" in built.unsupported_reason(Eq("color", "red"), kinds)
    other = get_method(built.name)(metric="ip", **{**SMALL[built.name], "attribute": "flag"})
    assert "ordered attribute 'flag'" in other.unsupported_reason(Range("flag", 0, 1), kinds)
    default = get_method(built.name)(metric="ip")
    assert "'update_date'" in default.unsupported_reason(None, kinds)
    with pytest.raises(MethodError, match="update_date"):
        default.build(dataset)


def test_save_and_load_give_identical_ids(built, dataset, tmp_path):
    path = tmp_path / "index.bin"
    built.save(path)
    loaded = get_method(built.name)(metric="ip", **SMALL[built.name])
    loaded.load(path)
    predicate = Range("year", 30, 49)
    queries = np.asarray(dataset.queries)
    first = run_search(built, queries, [predicate] * 30, dataset.attribute_index, K, ef_search=64)
    second = run_search(loaded, queries, [predicate] * 30, dataset.attribute_index, K, ef_search=64)
    np.testing.assert_array_equal(first, second)
    assert loaded.memory_bytes() == built.memory_bytes() > 0
    wrong_metric = get_method(built.name)(metric="l2", **SMALL[built.name])
    with pytest.raises(MethodError, match="metric 'ip'"):
        wrong_metric.load(path)
    (tmp_path / "index.bin.order.npy").unlink()
    with pytest.raises(MethodError):
        loaded.load(path)


def test_misuse_is_a_clear_error(dataset):
    for name, params in SMALL.items():
        with pytest.raises(ConfigError):
            get_method(name)(metric="ip", **params, bogus=1)
        method = get_method(name)(metric="ip", **params)
        with pytest.raises(MethodError, match="build"):
            run_search(method, np.asarray(dataset.queries), [None] * 30, dataset.attribute_index, K)
        with pytest.raises(MethodError, match="metric"):
            get_method(name)(metric="cosine", **params)


def test_scan_below_makes_small_ranges_exact(built, dataset):
    small = Range("year", 42, 42)  # about 30 items, fewer than scan_below
    found, truth = run(built, dataset, small, ef_search=16, scan_below=64)
    assert recall(found, truth) == 1.0
    assert built.stats()["distance_computations"] == len(dataset.attributes.ids(small))


def test_the_authors_search_is_the_default_and_ours_is_declared(built, dataset):
    """Defaults: seeds are never results and ef_search < k gives ef_search ids (the authors');
    return_seeds / raise_ef_to_k select ours and reach the core."""
    defaults = built.search_params({})
    assert defaults["return_seeds"] is False and defaults["raise_ef_to_k"] is False
    queries = np.asarray(dataset.queries)
    predicates = [Range("year", y, y + 2 * (y % 5)) for y in range(len(queries))]
    authors = run_search(built, queries, predicates, dataset.attribute_index, K, ef_search=64)
    ours = run_search(built, queries, predicates, dataset.attribute_index, K, ef_search=64, return_seeds=True)
    assert not np.array_equal(authors, ours)
    short = run_search(built, queries, predicates, dataset.attribute_index, K, ef_search=4)
    assert (short[:, 4:] == -1).all()
    full = run_search(built, queries, predicates, dataset.attribute_index, K, ef_search=4, raise_ef_to_k=True)
    assert (full[:, 4:] >= 0).any()
