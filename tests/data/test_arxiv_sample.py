"""The shipped real default (`datasets/arxiv_sample/`): hashes, expansion, shapes, attributes."""

from __future__ import annotations

import shutil

import numpy as np
import pyarrow.parquet as pq
import pytest

from fanns_bench.data.arxiv_sample import SHIPPED_DIR, SHIPPED_ROOT, build, read_sample_info, span_problems
from fanns_bench.data.arxiv_schema import ATTRIBUTE_SCHEMA
from fanns_bench.data.builders import ensure_dataset
from fanns_bench.data.dataset import load_dataset
from fanns_bench.errors import DatasetError


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build(tmp_path_factory.mktemp("sample") / "arxiv_sample.built", "arxiv_sample.built")


def test_shipped_files_match_their_recorded_hashes():
    info = read_sample_info(SHIPPED_DIR, verify=True)
    assert (info["count"], info["query_count"], info["dimension"]) == (10_000, 1_000, 384)
    assert info["metric"] == "ip"
    assert info["embedding_model"] == "sentence-transformers/all-MiniLM-L6-v2"


def test_sample_json_names_model_source_and_archives_for_the_reports(built):
    info = read_sample_info(SHIPPED_DIR, verify=False)
    assert info["source"]["file"] == "arxiv_sample_records.jsonl.gz"  # what the claims table names
    assert set(info["records"]["counts"]) == {"oai", "full", "recent"}
    assert sum(info["records"]["counts"].values()) == info["count"] + info["query_count"]
    largest = sorted(info["archives"], key=lambda name: -info["archives"][name])
    assert largest[:3] == ["math", "cs", "cond-mat"] and info["archives"]["math"] == 2764
    assert info["summary"].startswith(
        "10,000 arXiv abstracts + 1,000 held-out queries, all-MiniLM-L6-v2 384-d;"
    )
    for key in ("embedding_model", "source", "records", "archives", "summary"):
        assert built.manifest[key] == info[key]  # carried into the built store's manifest


@pytest.mark.parametrize(
    ("sample", "problems"),
    [
        ("arxiv_sample", []),
        ("arxiv_astroph_sample", ["astro-ph on 100.0% of the items; expected at most 40%"]),
    ],
)
def test_default_sample_spans_the_archives_and_the_astroph_one_does_not(sample, problems):
    info = read_sample_info(SHIPPED_ROOT / sample, verify=False)
    assert span_problems(info["archives"], info["count"]) == problems


def test_span_problems_names_too_few_archives():
    assert span_problems({"math": 3, "cs": 3}, 10) == ["2 archives; expected at least 8"]


def test_expanded_store_has_the_recorded_shapes_and_passes_validation(built):
    info = read_sample_info(SHIPPED_DIR, verify=False)
    assert built.vectors.shape == (info["count"], 384)
    assert built.queries.shape == (info["query_count"], 384)
    reloaded = load_dataset(built.path, verify_hashes=True)
    assert reloaded.manifest["builder"] == "arxiv_sample"
    assert reloaded.manifest["max_seq_length"] == 256
    norms = np.linalg.norm(np.asarray(reloaded.vectors), axis=1)
    assert np.abs(norms - 1).max() < 5e-4


def test_expansion_is_the_exact_float16_values(built):
    shipped = np.load(SHIPPED_DIR / "vectors.f16.npy")
    np.testing.assert_array_equal(np.asarray(built.vectors), shipped.astype(np.float32))


def test_sample_has_the_eleven_published_attributes(built):
    table = built.attributes.table
    assert table.schema == ATTRIBUTE_SCHEMA
    assert built.attributes.kinds["main_categories"] == "set"
    assert built.attributes.kinds["update_date"] == "ordered"
    assert built.attributes.kinds["submitter"] == "categorical"
    mains = table.column("main_categories").to_pylist()
    assert len({archive for m in mains for archive in m}) >= 15  # records from every archive
    assert table.column("number_of_main_categories").to_pylist() == [len(m) for m in mains]
    dates = np.asarray(table.column("update_date"))
    assert dates.min() >= 13655 and dates.max() <= 20216  # 2007-05-22 .. 2025-05-08
    submitters = table.column("submitter").null_count / table.num_rows
    assert 0.85 < submitters < 0.95  # real only on the full-schema astro-ph records
    ids = pq.read_table(built.path / "arxiv_ids.parquet")
    assert ids.num_rows == built.count + len(built.queries)
    assert len(set(ids.column("id").to_pylist())) == ids.num_rows


def test_tampered_shipped_file_is_refused(tmp_path):
    copy = tmp_path / "arxiv_sample"
    shutil.copytree(SHIPPED_DIR, copy)
    data = bytearray((copy / "attributes.parquet").read_bytes())
    data[100] ^= 0xFF
    (copy / "attributes.parquet").write_bytes(bytes(data))
    with pytest.raises(DatasetError, match="attributes.parquet: content hash differs"):
        build(tmp_path / "out", "x", source=str(copy))


def test_building_into_the_shipped_folder_is_refused():
    with pytest.raises(DatasetError, match="must not replace the shipped sample folder"):
        build(SHIPPED_DIR, "arxiv_sample")


def test_previous_astroph_sample_builds_from_its_shipped_folder(tmp_path):
    old = build(tmp_path / "old", "arxiv_astroph_sample", sample="arxiv_astroph_sample")
    assert old.count == 10_000
    assert all("astro-ph" in m for m in old.attributes.table.column("main_categories").to_pylist())
    with pytest.raises(DatasetError, match="expected a folder name under"):
        build(tmp_path / "x", "x", sample="../elsewhere")


def test_ensure_dataset_builds_once_and_reuses(tmp_path):
    first = ensure_dataset("arxiv_sample.built", "arxiv_sample", {}, tmp_path)
    stamp = (tmp_path / "arxiv_sample.built" / "vectors.npy").stat().st_mtime_ns
    again = ensure_dataset("arxiv_sample.built", "arxiv_sample", {}, tmp_path)
    assert again.content_hash == first.content_hash
    assert (tmp_path / "arxiv_sample.built" / "vectors.npy").stat().st_mtime_ns == stamp
