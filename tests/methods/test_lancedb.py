"""LanceDB: predicate -> SQL filter translation (escaping included), and search end to end."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from fanns_bench.errors import WorkloadError
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
from fanns_bench.methods.lancedb.sql import to_lance_where
from fanns_bench.scoring import exact_filtered_top_k
from tests.methods.method_checks import PREDICATES as COMMON_PREDICATES
from tests.methods.method_checks import check_rare_padded, check_satisfies_with_recall, small_dataset

TYPES = {
    "color": pa.string(),
    "year": pa.int64(),
    "score": pa.float64(),
    "flag": pa.bool_(),
    "day": pa.date32(),
    "tags": pa.string(),
    "my col": pa.string(),
}


def sql(predicate, nullable=frozenset()) -> str:
    return to_lance_where(predicate, TYPES, nullable)


def test_eq_quotes_strings_and_column_names() -> None:
    assert sql(Eq("color", "red")) == "`color` = 'red'"
    assert sql(Eq("my col", "x")) == "`my col` = 'x'"


def test_quotes_in_values_are_doubled_so_they_cannot_end_the_literal() -> None:
    assert sql(Eq("color", "O'Brien")) == "`color` = 'O''Brien'"
    assert sql(Eq("color", "x' OR 1=1 --")) == "`color` = 'x'' OR 1=1 --'"
    assert sql(Eq("color", "back\\slash")) == "`color` = 'back\\slash'"


def test_numbers_are_cast_to_the_column_type() -> None:
    assert sql(Eq("year", 7.0)) == "`year` = 7"
    assert sql(Eq("score", 2)) == "`score` = 2.0"
    assert sql(Eq("flag", True)) == "`flag` = true"


def test_in_lists_literals() -> None:
    assert sql(In("color", ("red", "it's"))) == "`color` IN ('red', 'it''s')"
    assert sql(In("color", ())) == "FALSE"


def test_range_is_closed_and_drops_open_sides() -> None:
    assert sql(Range("year", 3, 9)) == "`year` >= 3 AND `year` <= 9"
    assert sql(Range("year", None, 9)) == "`year` <= 9"
    assert sql(Range("year", None, None)) == "TRUE"


def test_range_on_date_compares_days_since_epoch() -> None:
    assert sql(Range("day", "1970-01-11", None)) == "`day` >= 10"


def test_list_predicates_use_array_functions() -> None:
    assert sql(Contains("tags", "t'1")) == "array_has(`tags`, 't''1')"
    assert sql(ContainsAny("tags", ("a", "b"))) == "array_has_any(`tags`, ['a', 'b'])"
    assert sql(ContainsAll("tags", ("a", "b"))) == "array_has_all(`tags`, ['a', 'b'])"
    assert sql(ContainsAll("tags", ())) == "TRUE"


def test_boolean_nodes_parenthesise_children() -> None:
    predicate = And((Eq("color", "red"), Or((Eq("year", 1), Not(Contains("tags", "a"))))))
    expected = "(`color` = 'red') AND ((`year` = 1) OR (NOT (array_has(`tags`, 'a'))))"
    assert sql(predicate) == expected


def test_not_over_a_nullable_column_keeps_null_rows() -> None:
    assert sql(Not(Eq("color", "red")), frozenset({"color"})) == "(`color` = 'red') IS NOT TRUE"
    assert sql(Not(Eq("year", 1)), frozenset({"color"})) == "NOT (`year` = 1)"


def test_bad_values_and_names_are_refused() -> None:
    with pytest.raises(WorkloadError, match="finite"):
        sql(Eq("score", float("nan")))
    with pytest.raises(WorkloadError, match="cannot be compared"):
        sql(Eq("year", "seven"))
    with pytest.raises(WorkloadError, match="unknown attribute"):
        sql(Eq("colour", "red"))


# --- end to end on the shared small dataset ------------------------------------------------


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory):
    return small_dataset(tmp_path_factory.mktemp("data") / "small", nullable_license=True)


PREDICATES = {**COMMON_PREDICATES, "not_nullable": Not(Eq("license", "mit"))}


@pytest.fixture(scope="module")
def built(dataset):
    pytest.importorskip("lancedb")
    from fanns_bench.methods.lancedb.method import LanceDB

    method = LanceDB("ip", index_type="IVF_HNSW_SQ", num_partitions=1, m=16, ef_construction=100)
    method.build(dataset)
    yield method
    method.close()


@pytest.mark.slow
@pytest.mark.parametrize("shape", sorted(PREDICATES))
def test_results_satisfy_the_predicate_with_high_recall(built, dataset, shape: str) -> None:
    check_satisfies_with_recall(built, dataset, PREDICATES[shape], ef=256, nprobes=1)


@pytest.mark.slow
def test_fewer_matches_than_k_pad_with_minus_one(built, dataset) -> None:
    check_rare_padded(built, dataset, ef=64)


@pytest.mark.slow
def test_queries_with_different_filters_in_one_batch(built, dataset) -> None:
    # the last predicate occurs once: a single-vector search (no query_index column)
    batch = [PREDICATES["eq"], None, PREDICATES["range"]] * 9 + [None, None, PREDICATES["contains"]]
    ids = [dataset.attributes.ids(p) for p in batch]
    queries = np.asarray(dataset.queries)
    found = run_search(built, queries, batch, dataset.attribute_index, 10, ef=256)
    for row, query, allowed in zip(found, queries, ids, strict=True):
        truth = exact_filtered_top_k(query, dataset.vectors, allowed, 10, "ip")[0]
        assert set(row.tolist()) <= set(allowed.tolist())
        assert len(set(row.tolist()) & set(truth.tolist())) >= 8


@pytest.mark.slow
def test_memory_is_reported_and_close_removes_the_table(dataset) -> None:
    pytest.importorskip("lancedb")
    from fanns_bench.methods.lancedb.method import LanceDB

    method = LanceDB("ip", index_type="IVF_FLAT", num_partitions=2)
    method.build(dataset)
    directory = method._directory
    assert method.memory_bytes() > dataset.count * dataset.dimension * 4
    method.close()
    assert not directory.exists()
