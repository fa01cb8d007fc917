"""Importers for qdrant's filtered-benchmark layout and big-ann-benchmarks' filter track."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest

from fanns_bench.data.dataset import load_dataset
from fanns_bench.data.importers import bigann, qdrant
from fanns_bench.data.importers.common import read_workload
from fanns_bench.data.importers.formats import read_bin, read_knn_result, read_spmat
from fanns_bench.errors import DatasetError, WorkloadError
from fanns_bench.filters.predicates import (
    And,
    Contains,
    ContainsAll,
    ContainsAny,
    Eq,
    In,
    Or,
    Range,
)
from tests.data.format_files import write_bin, write_knn_result, write_spmat

KINDS = {"color": "string", "count": "int64", "price": "double", "tags": "list"}


def test_qdrant_match_on_scalar_and_list_fields():
    assert qdrant.translate_conditions({"and": [{"color": {"match": {"value": "red"}}}]}, KINDS) == Eq(
        "color", "red"
    )
    assert qdrant.translate_conditions({"and": [{"tags": {"match": {"value": "x"}}}]}, KINDS) == Contains(
        "tags", "x"
    )
    assert qdrant.translate_conditions({"or": [{"color": {"match_any": {"any": ["a", "b"]}}}]}, KINDS) == In(
        "color", ("a", "b")
    )
    assert qdrant.translate_conditions(
        {"and": [{"tags": {"match_any": {"any": ["x"]}}}]}, KINDS
    ) == ContainsAny("tags", ("x",))


def test_qdrant_strict_range_bounds_become_closed():
    integer = qdrant.translate_conditions({"and": [{"count": {"range": {"gt": 3, "lt": 10}}}]}, KINDS)
    assert integer == Range("count", 4, 9)
    mixed = qdrant.translate_conditions({"and": [{"count": {"range": {"gte": 2.5, "lte": 7.5}}}]}, KINDS)
    assert mixed == Range("count", 3, 7)
    real = qdrant.translate_conditions({"and": [{"price": {"range": {"gt": 1.0}}}]}, KINDS)
    assert real == Range("price", float(np.nextafter(1.0, 2.0)), None)


def test_qdrant_and_with_or_is_must_plus_should():
    conditions = {
        "and": [{"color": {"match": {"value": "red"}}}, {"count": {"range": {"gte": 1}}}],
        "or": [{"tags": {"match": {"value": "x"}}}, {"tags": {"match": {"value": "y"}}}],
    }
    assert qdrant.translate_conditions(conditions, KINDS) == And(
        (
            Eq("color", "red"),
            Range("count", 1, None),
            Or((Contains("tags", "x"), Contains("tags", "y"))),
        )
    )
    assert qdrant.translate_conditions({}, KINDS) is None
    assert qdrant.translate_conditions(None, KINDS) is None


def test_qdrant_unsupported_conditions_are_workload_errors():
    with pytest.raises(WorkloadError, match="unsupported condition 'geo'"):
        qdrant.translate_conditions({"and": [{"color": {"geo": {"lat": 1, "lon": 2, "radius": 3}}}]}, KINDS)
    with pytest.raises(WorkloadError, match="unknown or skipped payload field 'where'"):
        qdrant.translate_conditions({"and": [{"where": {"match": {"value": 1}}}]}, KINDS)
    with pytest.raises(WorkloadError, match="unsupported condition 'range' on list field 'tags'"):
        qdrant.translate_conditions({"and": [{"tags": {"range": {"gt": 1}}}]}, KINDS)


def _qdrant_folder(tmp_path):
    folder = tmp_path / "qdrant"
    folder.mkdir()
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(6, 4)).astype(np.float32) * 3
    np.save(folder / "vectors.npy", vectors)
    payloads = [
        {"color": "red", "count": 1, "tags": ["x", "y"], "geo": {"lat": 1.0, "lon": 2.0}},
        {"color": "blue", "count": 5, "tags": "x"},
        {"color": "red", "count": 9, "tags": []},
        {"color": "green", "count": 2, "tags": ["y"]},
        {"count": 7, "tags": ["z"]},
        {"color": "red", "count": 3, "tags": ["x"]},
    ]
    (folder / "payloads.jsonl").write_text("".join(json.dumps(p) + "\n" for p in payloads))
    tests = [
        {
            "query": [1, 0, 0, 0],
            "conditions": {"and": [{"color": {"match": {"value": "red"}}}]},
            "closest_ids": [0, 5, 2],
            "closest_scores": [0.9, 0.8, 0.1],
        },
        {
            "query": [0, 1, 0, 0],
            "conditions": {
                "and": [
                    {"count": {"range": {"gt": 2, "lte": 7}}},
                    {"tags": {"match": {"value": "x"}}},
                ]
            },
            "closest_ids": [1, 5],
            "closest_scores": [0.5, 0.4],
        },
        {
            "query": [0, 0, 1, 0],
            "conditions": {"and": [{"geo": {"geo": {"lat": 1, "lon": 2, "radius": 5}}}]},
            "closest_ids": [0],
            "closest_scores": [1.0],
        },
        {"query": [0, 0, 0, 1], "conditions": None, "closest_ids": [3], "closest_scores": [1.0]},
    ]
    (folder / "tests.jsonl").write_text("".join(json.dumps(t) + "\n" for t in tests))
    return folder, vectors


def test_qdrant_folder_round_trip(tmp_path):
    folder, vectors = _qdrant_folder(tmp_path)
    dataset = qdrant.build(tmp_path / "store", "qd", source=str(folder))
    reloaded = load_dataset(tmp_path / "store", verify_hashes=True)
    expected = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    np.testing.assert_allclose(reloaded.vectors, expected, rtol=1e-6)
    table = dataset.attributes.table
    assert table.column("color").to_pylist() == ["red", "blue", "red", "green", None, "red"]
    assert table.column("tags").to_pylist() == [["x", "y"], ["x"], [], ["y"], ["z"], ["x"]]
    assert table.schema.field("count").type == pa.int64()
    assert "geo" not in table.column_names
    assert dataset.manifest["skipped_payload_fields"] == {
        "geo": "nested objects (e.g. geo points) are not supported"
    }
    assert dataset.manifest["dropped_queries"] == {"condition on unknown or skipped payload field 'geo'": 1}
    workload, predicates = read_workload(tmp_path / "store" / "workloads" / "qdrant.parquet")
    assert predicates == [
        Eq("color", "red"),
        And((Range("count", 3, 7), Contains("tags", "x"))),
        None,
    ]
    assert workload.column("filter_type").to_pylist() == ["eq", "contains+range", "none"]
    assert workload.column("gt_ids").to_pylist() == [[0, 5, 2], [1, 5], [3]]
    assert workload.column("match_count").to_pylist() == [3, 2, 6]
    np.testing.assert_allclose(reloaded.queries[2], [0, 0, 0, 1])


def test_qdrant_payload_count_must_match_vectors(tmp_path):
    folder, _ = _qdrant_folder(tmp_path)
    lines = (folder / "payloads.jsonl").read_text().splitlines()
    (folder / "payloads.jsonl").write_text("\n".join(lines[:-1]) + "\n")
    with pytest.raises(DatasetError, match="5 payload lines but 6 vectors"):
        qdrant.build(tmp_path / "store", "qd", source=str(folder))


def test_bigann_binary_formats_round_trip(tmp_path):
    matrix = np.arange(12, dtype=np.uint8).reshape(3, 4)
    write_bin(tmp_path / "a.u8bin", matrix)
    np.testing.assert_array_equal(read_bin(tmp_path / "a.u8bin"), matrix)
    write_spmat(tmp_path / "l.spmat", [[0, 2], [], [1]], columns=3)
    indptr, indices, columns = read_spmat(tmp_path / "l.spmat")
    assert indptr.tolist() == [0, 2, 2, 3] and indices.tolist() == [0, 2, 1] and columns == 3
    write_knn_result(tmp_path / "gt.ibin", np.array([[1, 2], [0, -1]]), np.zeros((2, 2)))
    ids, _ = read_knn_result(tmp_path / "gt.ibin")
    assert ids.tolist() == [[1, 2], [0, -1]]
    (tmp_path / "bad.fbin").write_bytes((tmp_path / "a.u8bin").read_bytes())
    with pytest.raises(DatasetError, match="header says 3 x 4 float32"):
        read_bin(tmp_path / "bad.fbin")


def test_bigann_filter_track_round_trip(tmp_path):
    rng = np.random.default_rng(1)
    base = rng.integers(0, 255, size=(5, 3), dtype=np.uint8)
    queries = rng.integers(0, 255, size=(3, 3), dtype=np.uint8)
    write_bin(tmp_path / "base.u8bin", base)
    write_bin(tmp_path / "query.u8bin", queries)
    write_spmat(tmp_path / "base.spmat", [[0, 1], [1], [0, 1, 2], [], [2]], columns=3)
    write_spmat(tmp_path / "query.spmat", [[0, 1], [2], []], columns=3)
    write_knn_result(tmp_path / "gt.ibin", np.array([[0, 2], [4, 2], [3, 1]]), np.zeros((3, 2)))
    (tmp_path / "vocab.txt").write_text("cat\ndog\nsky\n")
    files = {
        "base": str(tmp_path / "base.u8bin"),
        "base_labels": str(tmp_path / "base.spmat"),
        "queries": str(tmp_path / "query.u8bin"),
        "query_labels": str(tmp_path / "query.spmat"),
        "ground_truth": str(tmp_path / "gt.ibin"),
    }
    dataset = bigann.build(tmp_path / "store", "yfcc_tiny", **files)
    np.testing.assert_array_equal(dataset.vectors, base.astype(np.float32))
    assert dataset.metric == "l2"
    assert dataset.attributes.table.column("labels").to_pylist() == [
        [0, 1],
        [1],
        [0, 1, 2],
        [],
        [2],
    ]
    workload, predicates = read_workload(tmp_path / "store" / "workloads" / "bigann.parquet")
    assert predicates == [ContainsAll("labels", (0, 1)), ContainsAll("labels", (2,)), None]
    assert workload.column("gt_ids").to_pylist() == [[0, 2], [4, 2], [3, 1]]
    assert workload.column("match_count").to_pylist() == [2, 2, 5]
    named = bigann.build(tmp_path / "named", "yfcc_named", vocabulary=str(tmp_path / "vocab.txt"), **files)
    assert named.attributes.table.column("labels").to_pylist()[2] == ["cat", "dog", "sky"]
    _, named_predicates = read_workload(tmp_path / "named" / "workloads" / "bigann.parquet")
    assert named_predicates[0] == ContainsAll("labels", ("cat", "dog"))


def test_bigann_label_rows_must_match_vectors(tmp_path):
    write_bin(tmp_path / "base.fbin", np.ones((2, 3), np.float32))
    write_bin(tmp_path / "query.fbin", np.ones((1, 3), np.float32))
    write_spmat(tmp_path / "base.spmat", [[0]], columns=1)
    write_spmat(tmp_path / "query.spmat", [[0]], columns=1)
    with pytest.raises(DatasetError, match="base.spmat: 1 label rows but 2 vectors"):
        bigann.build(
            tmp_path / "s",
            "x",
            base=str(tmp_path / "base.fbin"),
            base_labels=str(tmp_path / "base.spmat"),
            queries=str(tmp_path / "query.fbin"),
            query_labels=str(tmp_path / "query.spmat"),
        )
