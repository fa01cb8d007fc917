"""Filtered-DiskANN: label encoding, declared support, and end to end in its own environment."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from fanns_bench.data.dataset import Dataset, write_dataset
from fanns_bench.errors import ConfigError, MethodError
from fanns_bench.filters.evaluate import AttributeTable
from fanns_bench.filters.predicates import And, Contains, Eq, In, Range
from fanns_bench.filters.visitor import UnsupportedPredicate
from fanns_bench.methods.base import run_search
from fanns_bench.methods.common.labels import NO_LABEL, UNFILTERED, encode_labels
from fanns_bench.methods.diskann.method import DiskANNFiltered
from tests.methods.method_checks import batch_recall

KINDS = {"category": "categorical", "year": "ordered", "tags": "set"}


def test_scalar_and_set_attributes_become_label_tokens():
    table = AttributeTable(
        pa.table(
            {
                "category": pa.array(["b,x", "default", None, "b,x"]),
                "tags": pa.array([["t1", "t2"], [], None, ["t2", None]]),
            }
        )
    )
    category = encode_labels(table, ["category"])
    assert category.offsets.tolist() == [0, 1, 2, 2, 3]
    assert category.tokens.tolist() == [0, 1, 0]
    assert category.token(Eq("category", "default")) == 1
    assert category.token(Eq("category", "absent")) == NO_LABEL
    assert category.token(None) == UNFILTERED
    with pytest.raises(UnsupportedPredicate, match="labels were built on \\['category'\\]"):
        category.token(Contains("tags", "t1"))
    both = encode_labels(table, ["category", "tags"])
    assert both.offsets.tolist() == [0, 3, 4, 4, 6]
    assert both.tokens.tolist() == [0, 2, 3, 1, 0, 3]
    assert both.token(Contains("tags", "t2")) == 3
    assert both.token(Eq("category", "b,x")) == 0
    with pytest.raises(MethodError, match="'nope' is not an attribute"):
        encode_labels(table, ["nope"])


def test_declared_support_by_shape_and_by_build_attribute():
    every = DiskANNFiltered("ip", label_attribute="category,year,tags")
    assert every.unsupported_reason(Eq("category", "a"), KINDS) is None
    assert every.unsupported_reason(Eq("year", 2020), KINDS) is None
    assert every.unsupported_reason(Contains("tags", "a"), KINDS) is None
    assert every.unsupported_reason(None, KINDS) is None
    for shape in (
        Range("year", 1, 2),
        In("category", ("a", "b")),
        Eq("tags", "a"),
        And((Eq("category", "a"), Contains("tags", "a"))),
    ):
        assert "one label per query" in every.unsupported_reason(shape, KINDS)
    method = DiskANNFiltered("ip", label_attribute="tags, year")
    assert method.label_attributes == ["tags", "year"]
    assert method.unsupported_reason(Contains("tags", "a"), KINDS) is None
    assert method.unsupported_reason(Eq("year", 2020), KINDS) is None
    assert "cannot filter on 'category'" in method.unsupported_reason(Eq("category", "a"), KINDS)


def test_build_parameters_are_checked():
    with pytest.raises(ConfigError, match="label_attribute"):
        DiskANNFiltered("ip")
    with pytest.raises(ConfigError, match="unknown build parameter 'R'"):
        DiskANNFiltered("ip", label_attribute="tags", R=32)


def test_worker_keeps_only_the_real_results_of_a_short_search():
    from fanns_bench.methods.diskann.handler import Worker

    worker = Worker("/nonexistent")
    worker.vectors = np.eye(4, dtype=np.float32)
    worker.labels = [(np.array([0, 1, 2, 3, 4]), np.array([5, 5, 6, 5]))]
    worker.distance = "l2"
    query = np.array([1, 0, 0, 0], dtype=np.float32)
    # item 0 (label 5, distance 0), then garbage: item 3 (label 5) with a stale distance
    ids = np.array([0, 3, 4_000_000_000], dtype=np.uint32)
    assert worker._found_prefix(query, 0, 5, ids, np.array([0.0, 0.5, 0.0])).tolist() == [0]
    assert worker._found_prefix(query, 0, 5, ids, np.array([0.0, 2.0, 0.0])).tolist() == [0, 3]
    assert worker._found_prefix(query, 0, 6, ids, np.array([0.0, 2.0, 0.0])).tolist() == []
    assert worker._found_prefix(query, 0, -2, ids[:2], np.array([0.0, 2.0])).tolist() == [0, 3]


def small_dataset(path: Path, count: int = 3000, dimension: int = 32) -> Dataset:
    """Clustered unit vectors; `category` "rare" (~3%, mostly one cluster) and "five"
    (5 items, fewer than k); `tags` a set attribute independent of the vectors."""
    rng = np.random.default_rng(7)
    centres = rng.standard_normal((20, dimension))
    cluster = rng.integers(0, 20, count)
    vectors = centres[cluster] + 0.3 * rng.standard_normal((count, dimension))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    queries = centres[rng.integers(0, 20, 40)] + 0.3 * rng.standard_normal((40, dimension))
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    category = rng.choice(["a", "b", "c"], count).astype(object)
    category[(cluster == 0) & (rng.random(count) < 0.6)] = "rare"
    category[:5] = "five"
    tags = [[f"t{j}" for j in range(5) if rng.random() < 0.3] for _ in range(count)]
    attributes = pa.table({"category": pa.array(category.tolist()), "tags": pa.array(tags)})
    return write_dataset(
        path,
        name="tiny",
        vectors=vectors,
        queries=queries,
        attributes=attributes,
        metric="ip",
        builder="test",
    )


@pytest.mark.slow
def test_filtered_vamana_end_to_end(tmp_path: Path):
    pytest.importorskip("venv")
    dataset = small_dataset(tmp_path / "tiny")
    table = dataset.attributes
    predicates = [Eq("category", "rare"), Eq("category", "a"), Contains("tags", "t1")] * 13
    predicates.append(Eq("category", "five"))
    predicates[-2] = Eq("category", "never-seen")
    method = DiskANNFiltered("ip", threads=2, label_attribute="category,tags", graph_degree=32)
    try:
        method.build(dataset)
        found = run_search(method, dataset.queries, predicates, dataset.attribute_index, 10, complexity=200)
        match_ids = [table.ids(p) for p in predicates]
        assert found.shape == (40, 10) and found.dtype == np.int64
        for row, ids in enumerate(match_ids):
            returned = found[row][found[row] >= 0]
            assert np.isin(returned, ids).all() and len(set(returned)) == len(returned)
            assert len(returned) <= len(ids)  # fewer matches than k: the rest is -1 padding
            assert (found[row][len(returned) :] == -1).all()
        assert (found[-2] == -1).all()  # a value no item has
        assert batch_recall(dataset, found, match_ids, 10) >= 0.9
        assert method.memory_bytes() > dataset.count * dataset.dimension * 4
        unfiltered = run_search(
            method, dataset.queries[:3], [None] * 3, dataset.attribute_index, 10, complexity=50
        )
        assert (unfiltered >= 0).all()
        worker = method.worker
    finally:
        method.close()
    assert not worker.alive and not worker.workdir.exists()
