"""hnswlib with its filter callback: membership callables and filtered search end to end."""

from __future__ import annotations

import numpy as np
import pytest

from fanns_bench.errors import ConfigError
from fanns_bench.methods.base import run_search
from fanns_bench.methods.common.membership import membership_test
from tests.methods.method_checks import (
    RARE,
    check_no_match_is_all_padding,
    check_rare_padded,
    check_satisfies_with_recall,
    predicates,
    run,
    small_dataset,
)

pytest.importorskip("hnswlib")

from fanns_bench.methods.hnswlib.method import HnswlibFilter  # noqa: E402


@pytest.mark.parametrize("ids", [np.array([2, 5], dtype=np.int64), np.arange(0, 10, 2)])
def test_membership_test_returns_real_bools(ids: np.ndarray) -> None:
    test = membership_test(ids, 10)
    assert [test(i) for i in range(10)] == [i in set(ids.tolist()) for i in range(10)]
    assert all(type(test(i)) is bool for i in range(10))


# --- end to end on the shared small dataset ------------------------------------------------


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory):
    return small_dataset(tmp_path_factory.mktemp("data") / "small")


@pytest.fixture(scope="module")
def built(dataset):
    method = HnswlibFilter("ip", threads=2, M=16, ef_construction=100)
    method.build(dataset)
    return method


PREDICATES = predicates("eq", "in", "range", "contains", "contains_all", "and_or_not", "none")


@pytest.mark.parametrize("shape", sorted(PREDICATES))
def test_results_satisfy_the_predicate_with_high_recall(built, dataset, shape: str) -> None:
    check_satisfies_with_recall(built, dataset, PREDICATES[shape], ef=256)


def test_fewer_matches_than_k_pad_with_minus_one(built, dataset) -> None:
    check_rare_padded(built, dataset, ef=64)


def test_no_match_gives_an_all_padding_row(built, dataset) -> None:
    check_no_match_is_all_padding(built, dataset)


def test_mixed_filters_in_one_batch(built, dataset) -> None:
    batch = [PREDICATES["eq"], None, RARE] * 10
    ids = [dataset.attributes.ids(p) for p in batch]
    queries = np.asarray(dataset.queries)
    found = run_search(built, queries, batch, dataset.attribute_index, 10, ef=128)
    for row, allowed in zip(found, ids, strict=True):
        assert set(row[row >= 0].tolist()) <= set(allowed.tolist())
        assert (row >= 0).sum() == min(10, len(allowed))


def test_memory_covers_vectors_and_links(built, dataset) -> None:
    vectors = dataset.count * dataset.dimension * 4
    links = dataset.count * (2 * 16 + 1) * 4
    assert vectors + links < built.memory_bytes() < 1.2 * (vectors + links + dataset.count * 8)
    assert built.stats() == {"filtered_search_threads": 1.0}


def test_unknown_search_param_is_refused(built, dataset) -> None:
    with pytest.raises(ConfigError, match="unknown search parameter 'efSearch'; valid: ef"):
        run(built, dataset, None, efSearch=64)
