"""Dataset store: atomic write, validated load, one clear error per bad input."""

import json

import numpy as np
import pyarrow as pa
import pytest

from fanns_bench.data.builders import ensure_dataset
from fanns_bench.data.dataset import load_dataset, write_dataset
from fanns_bench.errors import ConfigError, DatasetError


def unit_rows(rows: int, dim: int, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(rows, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def write(tmp_path, vectors=None, queries=None, attributes=None, metric="ip", **options):
    vectors = unit_rows(10, 4) if vectors is None else vectors
    return write_dataset(
        tmp_path / "d",
        name="d",
        vectors=vectors,
        queries=unit_rows(3, vectors.shape[1], 1) if queries is None else queries,
        attributes=pa.table({"a": list(range(len(vectors)))}) if attributes is None else attributes,
        metric=metric,
        builder="test",
        **options,
    )


def test_round_trip_memory_maps_vectors_and_records_manifest(tmp_path):
    dataset = write(tmp_path)
    again = load_dataset(tmp_path / "d", verify_hashes=True)
    assert isinstance(again.vectors, np.memmap)
    assert again.manifest["count"] == 10 and again.manifest["dimension"] == 4
    assert again.content_hash == dataset.content_hash
    assert again.attributes.kinds == {"a": "ordered"}


def test_rewrite_leaves_no_staging_directories(tmp_path):
    write(tmp_path)
    write(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]


def test_strided_view_is_copied_in_blocks(tmp_path):
    source = np.arange(7 * 8, dtype=np.float64).reshape(7, 8)
    dataset = write_dataset(
        tmp_path / "d",
        name="d",
        vectors=source[:, ::2],
        queries=source[:2, 1::2],
        attributes=pa.table({"a": list(range(7))}),
        metric="l2",
        builder="test",
        block_rows=3,
    )
    assert dataset.vectors.dtype == np.float32 and dataset.vectors.flags.c_contiguous
    assert np.array_equal(dataset.vectors, source[:, ::2].astype(np.float32))
    assert np.array_equal(dataset.queries, source[:2, 1::2].astype(np.float32))


def test_normalize_makes_rows_unit_length_and_leaves_zero_rows(tmp_path):
    vectors = unit_rows(10, 4) * 3
    assert np.allclose(write(tmp_path, vectors=vectors, normalize=True).vectors, vectors / 3, atol=1e-6)
    vectors[4] = 0
    assert not write(tmp_path, vectors=vectors, metric="l2", normalize=True).vectors[4].any()


@pytest.mark.parametrize("vectors", [np.zeros(4, np.float32), np.zeros((0, 4), np.float32)])
def test_non_matrix_or_empty_vectors_are_rejected_and_nothing_is_left(tmp_path, vectors):
    with pytest.raises(DatasetError, match="vectors: expected a non-empty 2-d matrix"):
        write(tmp_path, vectors=vectors, queries=unit_rows(3, 4), attributes=pa.table({"a": [1]}))
    assert list(tmp_path.iterdir()) == []


def test_nan_vector_is_rejected_with_its_row(tmp_path):
    vectors = unit_rows(10, 4)
    vectors[7, 2] = np.nan
    with pytest.raises(DatasetError, match="row 7 holds NaN"):
        write(tmp_path, vectors=vectors)


def test_unnormalised_vectors_rejected_for_ip(tmp_path):
    with pytest.raises(DatasetError, match="row 0 has norm 2.0000; metric 'ip' needs L2-normalised"):
        write(tmp_path, vectors=unit_rows(10, 4) * 2)


def test_unnormalised_vectors_accepted_for_l2(tmp_path):
    assert write(tmp_path, vectors=unit_rows(10, 4) * 2, metric="l2").metric == "l2"


def test_wrong_query_dimension_is_rejected(tmp_path):
    with pytest.raises(DatasetError, match="queries.npy: dimension 5, manifest says 4"):
        write(tmp_path, queries=unit_rows(3, 5))


def test_attribute_row_count_must_match(tmp_path):
    with pytest.raises(DatasetError, match="attributes.parquet: 9 rows, but there are 10 vectors"):
        write(tmp_path, attributes=pa.table({"a": list(range(9))}))


def test_corrupt_parquet_is_named(tmp_path):
    write(tmp_path)
    (tmp_path / "d" / "attributes.parquet").write_bytes(b"not parquet")
    with pytest.raises(DatasetError, match="attributes.parquet: not a readable Parquet file"):
        load_dataset(tmp_path / "d")


def test_changed_file_fails_hash_check(tmp_path):
    write(tmp_path)
    np.save(tmp_path / "d" / "vectors.npy", unit_rows(10, 4, seed=9))
    with pytest.raises(DatasetError, match="content hash differs"):
        load_dataset(tmp_path / "d", verify_hashes=True)


def test_missing_manifest_and_unknown_metric(tmp_path):
    with pytest.raises(DatasetError, match="no manifest"):
        load_dataset(tmp_path)
    write(tmp_path)
    manifest = json.loads((tmp_path / "d" / "manifest.json").read_text())
    (tmp_path / "d" / "manifest.json").write_text(json.dumps({**manifest, "metric": "cosine"}))
    with pytest.raises(DatasetError, match="metric 'cosine'"):
        load_dataset(tmp_path / "d")


def test_ensure_dataset_reuses_and_rebuilds_on_changed_params(tmp_path):
    params = {"count": 300, "queries": 10, "dimension": 8, "latent_dimension": 4, "clusters": 3}
    first = ensure_dataset("s", "synthetic", params, tmp_path)
    assert ensure_dataset("s", "synthetic", params, tmp_path).content_hash == first.content_hash
    changed = ensure_dataset("s", "synthetic", {**params, "seed": 5}, tmp_path)
    assert changed.content_hash != first.content_hash


def test_unknown_builder_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="unknown dataset builder 'nope'"):
        ensure_dataset("x", "nope", {}, tmp_path)


def test_synthetic_build_is_deterministic(tmp_path):
    params = {"count": 200, "queries": 5, "dimension": 8, "latent_dimension": 4, "clusters": 3}
    a = ensure_dataset("a", "synthetic", params, tmp_path)
    b = ensure_dataset("b", "synthetic", params, tmp_path)
    assert np.array_equal(a.vectors, b.vectors)
    assert a.attributes.table.equals(b.attributes.table)
    assert set(a.attributes.kinds.values()) == {"categorical", "set", "ordered"}


def test_a_concurrent_identical_build_keeps_the_dataset_already_in_place(tmp_path):
    """Two jobs of a sweep building the same dataset: the later one must not delete the
    directory the earlier one is reading; a different build still replaces it."""
    first = write(tmp_path)
    inode = first.path.stat().st_ino
    assert write(tmp_path).path.stat().st_ino == inode
    assert list(tmp_path.iterdir()) == [first.path]  # no staging directory left behind
    changed = write(tmp_path, vectors=unit_rows(10, 4, seed=5))
    assert changed.path.stat().st_ino != inode
