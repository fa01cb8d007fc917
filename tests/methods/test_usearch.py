"""usearch: partitioned indexes (one per value) and post-filtering with oversampling."""

from __future__ import annotations

import numpy as np
import pytest

from fanns_bench.errors import MethodError
from fanns_bench.filters.predicates import (
    And,
    Contains,
    ContainsAll,
    ContainsAny,
    Eq,
    In,
    Not,
    Or,
    Range,
)
from fanns_bench.methods.base import run_search
from fanns_bench.methods.usearch.partition import UsearchPartition
from fanns_bench.methods.usearch.postfilter import UsearchPostfilter
from fanns_bench.scoring import exact_filtered_top_k
from tests.methods.method_checks import (
    COLORS,
    RARE,
    check_no_match_is_all_padding,
    check_rare_padded,
    check_satisfies_with_recall,
    predicates,
    recall,
    run,
    small_dataset,
)

KINDS = {"color": "categorical", "year": "ordered", "tags": "set"}


@pytest.mark.parametrize(
    "predicate",
    [Eq("color", "red"), In("color", ("a", "b")), Eq("year", 3), In("year", (1, 2))]
    + [Contains("tags", "t1"), ContainsAny("tags", ("t1", "t2"))],
)
def test_partition_supports_single_value_group_lookups(predicate) -> None:
    assert UsearchPartition("ip").unsupported_reason(predicate, KINDS) is None


@pytest.mark.parametrize(
    "predicate",
    [Range("year", 1, 5), ContainsAll("tags", ("t1", "t2")), Not(Eq("color", "red"))]
    + [And((Eq("color", "red"), Eq("year", 1))), Or((Eq("color", "red"), Eq("year", 1))), None],
)
def test_partition_rejects_shapes_without_one_group_per_value(predicate) -> None:
    assert UsearchPartition("ip").unsupported_reason(predicate, KINDS) is not None


def test_postfilter_answers_every_shape() -> None:
    predicate = And((Range("year", 1, 5), Not(ContainsAll("tags", ("t1", "t2")))))
    assert UsearchPostfilter("ip").unsupported_reason(predicate, KINDS) is None


# --- end to end on the shared small dataset ------------------------------------------------


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory):
    return small_dataset(tmp_path_factory.mktemp("data") / "small")


@pytest.fixture(scope="module")
def partitioned(dataset):
    pytest.importorskip("usearch")
    # colors (~750 items) and tags (~450) get indexes; years (~30) and "rare" (4) are exact
    method = UsearchPartition("ip", connectivity=16, expansion_add=64, min_index_size=400)
    method.build(dataset)
    return method


@pytest.fixture(scope="module")
def postfilter(dataset):
    pytest.importorskip("usearch")
    method = UsearchPostfilter("ip", connectivity=16, expansion_add=64)
    method.build(dataset)
    return method


PARTITION_PREDICATES = {
    "eq": Eq("color", COLORS[3]),
    "in": In("color", ("red", "rare")),
    "eq_ordered_exact": Eq("year", 42),
    "in_ordered_exact": In("year", (1, 2, 3)),
    "contains": Contains("tags", "t3"),
    "contains_any": ContainsAny("tags", ("t1", "t2")),
    "eq_bool": Eq("flag", True),
}


@pytest.mark.parametrize("shape", sorted(PARTITION_PREDICATES))
def test_partition_results_satisfy_the_predicate(partitioned, dataset, shape: str) -> None:
    check_satisfies_with_recall(partitioned, dataset, PARTITION_PREDICATES[shape], ef=256)


def test_partition_builds_indexes_only_for_large_groups(partitioned) -> None:
    assert ("color", "red") in partitioned._indexes
    assert ("tags", "t3") in partitioned._indexes
    assert ("year", 42) not in partitioned._indexes
    assert partitioned.memory_bytes() > 0


def test_partition_pads_when_fewer_than_k_match(partitioned, dataset) -> None:
    check_rare_padded(partitioned, dataset, ef=64)


def test_partition_value_absent_from_data_returns_nothing(partitioned, dataset) -> None:
    check_no_match_is_all_padding(partitioned, dataset)


def test_partition_refuses_unsupported_shapes_at_search(partitioned, dataset) -> None:
    with pytest.raises(MethodError, match="range"):
        run(partitioned, dataset, Range("year", 1, 5))


POSTFILTER_PREDICATES = predicates("eq", "range", "contains_all", "and_or_not", "none")


@pytest.mark.parametrize("shape", sorted(POSTFILTER_PREDICATES))
def test_postfilter_results_satisfy_the_predicate(postfilter, dataset, shape: str) -> None:
    check_satisfies_with_recall(postfilter, dataset, POSTFILTER_PREDICATES[shape], ef=256, oversample=4)


def test_postfilter_pads_when_fewer_than_k_match(postfilter, dataset) -> None:
    check_rare_padded(postfilter, dataset, ef=64, oversample=4)


def test_postfilter_without_oversampling_loses_recall_at_low_selectivity(postfilter, dataset) -> None:
    # the cap bounds the candidates: at 1/750 selectivity most true neighbours are never fetched
    found, truth = run(postfilter, dataset, RARE, ef=16, oversample=1, max_candidates=16)
    assert recall(found, truth) < 0.5
    assert postfilter.stats()["candidates"] <= 10 + 16  # a first round of k, one capped doubling


@pytest.mark.parametrize("which", ["partitioned", "postfilter"])
def test_a_single_query_batch_works(which: str, request: pytest.FixtureRequest, dataset) -> None:
    # usearch answers one query with `Matches` instead of `BatchMatches`
    method = request.getfixturevalue(which)
    predicate = Eq("color", "red")
    ids = dataset.attributes.ids(predicate)
    query = np.asarray(dataset.queries[:1])
    found = run_search(method, query, [predicate], dataset.attribute_index, 10, ef=128)
    truth = exact_filtered_top_k(query[0], dataset.vectors, ids, 10, "ip")[0]
    assert found.shape == (1, 10)
    assert len(set(found[0].tolist()) & set(truth.tolist())) >= 9


def test_partition_declares_attributes_it_does_not_partition() -> None:
    method = UsearchPartition("ip", attributes="color")
    assert method.unsupported_reason(Eq("color", "red"), KINDS) is None
    assert "partitions ['color'], not 'year'" in method.unsupported_reason(Eq("year", 3), KINDS)
