"""Loader and converter for the paper's published files, on tiny files written here."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from fanns_bench.data.arxiv_schema import attributes_table, write_attributes_jsonl
from fanns_bench.data.dataset import load_dataset
from fanns_bench.data.importers.common import read_workload
from fanns_bench.data.importers.formats import read_fvecs, read_ivecs
from fanns_bench.data.published import (
    convert,
    crosscheck_ground_truth,
    load_published,
    paper_predicate,
)
from fanns_bench.errors import DatasetError
from fanns_bench.filters.predicates import Contains, Eq, Range, to_json
from tests.data.format_files import write_fvecs, write_ivecs

N, NQ, DIM, DEPTH = 40, 6, 8, 5


def _attributes(i: int) -> dict:
    mains = [["math"], ["math", "cs"], ["cs"], ["gr-qc"]][i % 4]
    return {
        "submitter": f"s{i}",
        "has_comments": i % 2 == 0,
        "main_categories": mains,
        "sub_categories": [f"{m}.X" for m in mains],
        "number_of_main_categories": len(mains),
        "number_of_sub_categories": 1 + i % 3,
        "license": None,
        "number_of_versions": 1,
        "update_date": 15000 + i,
        "authors": ["a"],
        "number_of_authors": 1,
    }


def _truth(vectors, queries, mask_of) -> list[np.ndarray]:
    rows = []
    for q, query in enumerate(queries):
        ids = np.flatnonzero(mask_of(q))
        distances = ((vectors[ids] - query) ** 2).sum(axis=1)
        rows.append(ids[np.argsort(distances, kind="stable")][:DEPTH])
    return rows


@pytest.fixture
def published(tmp_path) -> Path:
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(N, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    queries = rng.normal(size=(NQ, DIM)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    rows = [_attributes(i) for i in range(N)]
    folder = tmp_path / "small"
    folder.mkdir()
    write_fvecs(folder / "database_vectors.fvecs", vectors)
    write_fvecs(folder / "query_vectors.fvecs", queries)
    write_attributes_jsonl(attributes_table(rows), folder / "database_attributes.jsonl")
    em = [{"label": 1 + q % 3} for q in range(NQ)]
    r = [{"range_start": 15000 + q, "range_end": 15002 + 3 * q} for q in range(NQ)]
    emis = [{"label": ["math", "cs", "gr-qc"][q % 3]} for q in range(NQ)]
    for name, lines in (("em", em), ("r", r), ("emis", emis)):
        text = "".join(json.dumps(line) + "\n" for line in lines)
        (folder / f"{name}_query_attributes.jsonl").write_text(text)
    sub = np.array([row["number_of_sub_categories"] for row in rows])
    date = np.array([row["update_date"] for row in rows])
    write_ivecs(folder / "ground_truth.ivecs", _truth(vectors, queries, lambda q: np.ones(N, bool)))
    write_ivecs(folder / "ground_truth_em.ivecs", _truth(vectors, queries, lambda q: sub == em[q]["label"]))
    write_ivecs(
        folder / "ground_truth_r.ivecs",
        _truth(vectors, queries, lambda q: (date >= r[q]["range_start"]) & (date <= r[q]["range_end"])),
    )
    write_ivecs(
        folder / "ground_truth_emis.ivecs",
        _truth(
            vectors,
            queries,
            lambda q: np.array([emis[q]["label"] in row["main_categories"] for row in rows]),
        ),
    )
    return folder


def test_fvecs_is_a_memory_mapped_view(published):
    vectors = read_fvecs(published / "database_vectors.fvecs")
    assert vectors.shape == (N, DIM) and vectors.dtype == np.float32
    base = vectors
    while base.base is not None and not isinstance(base, np.memmap):
        base = base.base
    assert isinstance(base, np.memmap)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)


def test_truncated_fvecs_is_reported(tmp_path):
    path = tmp_path / "bad.fvecs"
    write_fvecs(path, np.ones((3, 4), np.float32))
    path.write_bytes(path.read_bytes()[:-4])
    with pytest.raises(DatasetError, match="not a whole number of 20-byte rows"):
        read_fvecs(path)


def test_ivecs_rows_may_differ_in_length(tmp_path):
    path = tmp_path / "gt.ivecs"
    write_ivecs(path, [np.array([3, 1, 2]), np.array([], int), np.array([7])])
    assert [r.tolist() for r in read_ivecs(path)] == [[3, 1, 2], [], [7]]
    path.write_bytes(path.read_bytes()[:-4])
    with pytest.raises(DatasetError, match="row 2 claims 1 ids"):
        read_ivecs(path)


def test_query_lines_become_the_paper_predicates():
    assert paper_predicate("EM", {"label": 2}, "x") == Eq("number_of_sub_categories", 2)
    assert paper_predicate("R", {"range_start": 5, "range_end": 9}, "x") == Range("update_date", 5, 9)
    assert paper_predicate("EMIS", {"label": "math"}, "x") == Contains("main_categories", "math")
    with pytest.raises(DatasetError, match="f.jsonl:3: key 'label' holds '2'; expected int"):
        paper_predicate("EM", {"label": "2"}, "f.jsonl:3")
    with pytest.raises(DatasetError, match="missing key 'range_end'"):
        paper_predicate("R", {"range_start": 1}, "f.jsonl:1")


def test_convert_writes_store_and_the_three_workloads_with_given_truth(published, tmp_path):
    dataset = convert(published, tmp_path / "store", name="paper_small")
    reloaded = load_dataset(tmp_path / "store", verify_hashes=True)
    assert reloaded.metric == "l2" and reloaded.count == N and reloaded.queries.shape == (NQ, DIM)
    np.testing.assert_array_equal(reloaded.vectors, read_fvecs(published / "database_vectors.fvecs"))
    assert reloaded.attributes.table.column("update_date").to_pylist() == [15000 + i for i in range(N)]
    workloads = sorted(p.name for p in (tmp_path / "store" / "workloads").iterdir())
    assert workloads == [
        "paper_em.parquet",
        "paper_emis.parquet",
        "paper_none.parquet",
        "paper_r.parquet",
    ]
    table, predicates = read_workload(tmp_path / "store" / "workloads" / "paper_r.parquet")
    assert table.column("query_index").to_pylist() == list(range(NQ))
    assert set(table.column("filter_type").to_pylist()) == {"R"}
    assert predicates[2] == Range("update_date", 15002, 15008)
    assert table.column("predicate_json")[2].as_py() == to_json(Range("update_date", 15002, 15008))
    assert table.column("match_count").to_pylist()[2] == 7
    given = read_ivecs(published / "ground_truth_r.ivecs")
    assert [list(r) for r in table.column("gt_ids").to_pylist()] == [r.tolist() for r in given]
    for path in (tmp_path / "store" / "workloads").iterdir():
        table, _ = read_workload(path)
        check = crosscheck_ground_truth(dataset, table, sample=NQ, k=3, depth=DEPTH)
        assert check.ok and check.agreement == 1.0 and check.checked == NQ


def test_crosscheck_flags_wrong_ground_truth(published, tmp_path):
    dataset = convert(published, tmp_path / "store", name="paper_small")
    table, _ = read_workload(tmp_path / "store" / "workloads" / "paper_em.parquet")
    rows = table.column("gt_ids").to_pylist()
    rows[1] = list(reversed(rows[1]))[:2]  # too short and not the nearest
    rows[0] = [1, *rows[0][1:]]  # item 1 has 2 sub-categories; query 0 asks for 1
    broken = table.set_column(3, "gt_ids", pa.array(rows, pa.list_(pa.int64())))
    check = crosscheck_ground_truth(dataset, broken, sample=NQ, k=3, depth=DEPTH)
    assert not check.ok
    assert 1 in check.wrong_length and 1 in check.disagreeing
    assert check.not_matching_filter == [0]
    assert check.agreement < 1.0


def test_missing_published_file_says_what_to_download(tmp_path):
    with pytest.raises(DatasetError, match="database_vectors.fvecs: missing; download"):
        load_published(tmp_path)


def test_attribute_count_must_match_vectors(published, tmp_path):
    lines = (published / "database_attributes.jsonl").read_text().splitlines()
    (published / "database_attributes.jsonl").write_text("\n".join(lines[:-1]) + "\n")
    with pytest.raises(DatasetError, match=f"{N - 1} attribute lines but {N} database vectors"):
        convert(published, tmp_path / "store", name="x")
