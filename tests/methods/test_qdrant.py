"""Qdrant (qdrant-edge-py): predicate -> Filter translation, and filtered search end to end."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest

from fanns_bench.data.dataset import write_dataset
from fanns_bench.errors import ConfigError
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
from tests.methods.method_checks import (
    check_rare_padded,
    check_satisfies_with_recall,
    predicates,
    run,
    small_dataset,
)

qd = pytest.importorskip("qdrant_edge")

from fanns_bench.methods.qdrant.filters import to_qdrant_filter  # noqa: E402
from fanns_bench.methods.qdrant.method import QdrantACORN, QdrantHNSW  # noqa: E402

TYPES = {
    "color": pa.string(),
    "year": pa.int64(),
    "score": pa.float64(),
    "flag": pa.bool_(),
    "day": pa.date32(),
    "tags": pa.string(),
}


def match(key: str, value: object) -> object:
    return qd.FieldCondition(key, match=qd.MatchValue(value))


def same(left: object, right: object) -> bool:
    """qdrant_edge objects have no __eq__; their repr spells out every field."""
    return repr(left) == repr(right)


def test_eq_on_keyword() -> None:
    assert same(to_qdrant_filter(Eq("color", "red"), TYPES), qd.Filter(must=[match("color", "red")]))


def test_eq_on_integer_casts_the_value() -> None:
    assert same(to_qdrant_filter(Eq("year", 7.0), TYPES), qd.Filter(must=[match("year", 7)]))


def test_eq_on_float_is_a_point_range() -> None:
    expected = qd.FieldCondition("score", range=qd.RangeFloat(gte=0.5, lte=0.5))
    assert same(to_qdrant_filter(Eq("score", 0.5), TYPES), qd.Filter(must=[expected]))


def test_in_is_match_any() -> None:
    expected = qd.FieldCondition("color", match=qd.MatchAny(["red", "blue"]))
    assert same(to_qdrant_filter(In("color", ("red", "blue")), TYPES), qd.Filter(must=[expected]))


def test_booleans_are_matched_as_integers() -> None:
    # qdrant-edge-py 0.9.0 turns MatchValue(True) into MatchValue(1): booleans are stored as 0/1
    expected = qd.FieldCondition("flag", match=qd.MatchAny([1, 0]))
    assert same(to_qdrant_filter(In("flag", (True, False)), TYPES), qd.Filter(must=[expected]))
    assert same(to_qdrant_filter(Eq("flag", False), TYPES), qd.Filter(must=[match("flag", 0)]))


def test_range_is_closed_and_open_sides_stay_none() -> None:
    expected = qd.FieldCondition("year", range=qd.RangeFloat(gte=3, lte=None))
    assert same(to_qdrant_filter(Range("year", 3, None), TYPES), qd.Filter(must=[expected]))


def test_range_on_date_compares_days_since_epoch() -> None:
    days = (dt.date(2020, 1, 1) - dt.date(1970, 1, 1)).days
    expected = qd.FieldCondition("day", range=qd.RangeFloat(gte=days, lte=days + 1))
    predicate = Range("day", "2020-01-01", "2020-01-02")
    assert same(to_qdrant_filter(predicate, TYPES), qd.Filter(must=[expected]))


def test_contains_matches_one_array_element() -> None:
    assert same(to_qdrant_filter(Contains("tags", "t1"), TYPES), qd.Filter(must=[match("tags", "t1")]))


def test_contains_any_is_match_any() -> None:
    expected = qd.FieldCondition("tags", match=qd.MatchAny(["t1", "t2"]))
    assert same(to_qdrant_filter(ContainsAny("tags", ("t1", "t2")), TYPES), qd.Filter(must=[expected]))


def test_contains_all_is_must_of_matches() -> None:
    expected = qd.Filter(must=[match("tags", "t1"), match("tags", "t2")])
    assert same(to_qdrant_filter(ContainsAll("tags", ("t1", "t2")), TYPES), expected)


def test_and_or_not_nest_as_must_should_must_not() -> None:
    predicate = And((Eq("color", "red"), Or((Contains("tags", "t1"), Not(Eq("year", 3))))))
    expected = qd.Filter(
        must=[
            match("color", "red"),
            qd.Filter(should=[match("tags", "t1"), qd.Filter(must_not=[match("year", 3)])]),
        ]
    )
    assert same(to_qdrant_filter(predicate, TYPES), expected)


# --- end to end on the shared small dataset ------------------------------------------------


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory):
    return small_dataset(tmp_path_factory.mktemp("data") / "small")


PREDICATES = predicates("eq", "in", "range", "contains", "contains_any", "contains_all", "and_or_not", "none")


@pytest.fixture(scope="module", params=[QdrantHNSW, QdrantACORN])
def built(request: pytest.FixtureRequest, dataset):
    method = request.param("ip", threads=1, m=16, ef_construct=100)
    method.build(dataset)
    yield method
    method.close()


@pytest.mark.slow
@pytest.mark.parametrize("shape", sorted(PREDICATES))
def test_results_satisfy_the_predicate_with_high_recall(built, dataset, shape: str) -> None:
    params = {"acorn_max_selectivity": 1.0} if isinstance(built, QdrantACORN) else {}
    check_satisfies_with_recall(built, dataset, PREDICATES[shape], hnsw_ef=256, **params)


@pytest.mark.slow
def test_fewer_matches_than_k_pad_with_minus_one(built, dataset) -> None:
    check_rare_padded(built, dataset, hnsw_ef=64)


def test_memory_is_reported_and_close_removes_the_shard(tmp_path) -> None:
    rng = np.random.default_rng(1)
    vectors = rng.standard_normal((300, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    tiny = write_dataset(
        tmp_path / "tiny",
        name="tiny",
        vectors=vectors,
        queries=vectors[:2],
        attributes=pa.table({"color": ["a"] * 300}),
        metric="ip",
        builder="test",
    )
    method = QdrantHNSW("ip", m=8, ef_construct=32)
    method.build(tiny)
    directory = method._directory
    assert method.memory_bytes() > tiny.count * tiny.dimension * 4
    method.close()
    assert not directory.exists()


@pytest.mark.slow
def test_unknown_search_param_is_an_error(built, dataset) -> None:
    with pytest.raises(ConfigError, match="unknown search parameter 'nprobe'"):
        run(built, dataset, None, nprobe=3)


@pytest.mark.slow
def test_changing_threads_reopens_the_shard_with_the_same_results(built, dataset) -> None:
    before, _ = run(built, dataset, PREDICATES["range"], hnsw_ef=128)
    built.threads = 2
    after, _ = run(built, dataset, PREDICATES["range"], hnsw_ef=128)
    built.threads = 1
    assert built._search_threads == 2
    assert (before == after).all()
