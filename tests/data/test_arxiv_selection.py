"""Seeded selection, extraction and the published JSONL form of the arXiv builder (no model)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from fanns_bench.data.arxiv import prepare, select
from fanns_bench.data.arxiv_records import iter_records
from fanns_bench.data.arxiv_schema import (
    ATTRIBUTE_KEYS,
    ATTRIBUTE_SCHEMA,
    attributes_table,
    read_attributes_jsonl,
    write_attributes_jsonl,
)
from fanns_bench.errors import DatasetError

SNAPSHOT = Path(__file__).parents[1] / "fixtures" / "kaggle_snapshot_first200.jsonl"


def _dump(path: Path, ids: list[str]) -> Path:
    lines = []
    for i in ids:
        record = {
            "id": i,
            "categories": "cs.LG",
            "abstract": f"abstract of {i}",
            "update_date": "2020-01-01",
            "authors_parsed": [["Doe", "J.", ""]],
        }
        lines.append(json.dumps(record))
    path.write_text("\n".join(lines) + "\n")
    return path


IDS = [f"2001.{n:05d}" for n in range(60)]


def test_selection_is_seeded_disjoint_and_sized(tmp_path):
    dump = _dump(tmp_path / "d.jsonl", IDS)
    first = select(dump, count=10, query_count=3, seed=7)
    again = select(dump, count=10, query_count=3, seed=7)
    assert (first.query_ids, first.base_ids) == (again.query_ids, again.base_ids)
    assert len(first.query_ids) == 3 and len(first.base_ids) == 10
    assert not set(first.query_ids) & set(first.base_ids)
    other = select(dump, count=10, query_count=3, seed=8)
    assert set(other.base_ids) != set(first.base_ids)


def test_selection_is_nested_across_counts_and_ignores_file_order(tmp_path):
    small = select(_dump(tmp_path / "a.jsonl", IDS), count=10, query_count=3)
    large = select(_dump(tmp_path / "b.jsonl", IDS[::-1]), count=30, query_count=3)
    assert large.query_ids == small.query_ids
    assert set(small.base_ids) < set(large.base_ids)


def test_count_none_takes_every_usable_record(tmp_path):
    selection = select(_dump(tmp_path / "d.jsonl", IDS), count=None, query_count=5)
    assert len(selection.base_ids) == 55
    assert selection.report.usable == 60


def test_too_few_records_is_a_dataset_error(tmp_path):
    with pytest.raises(DatasetError, match="only 4 usable records; need more than query_count=4"):
        select(_dump(tmp_path / "d.jsonl", IDS[:4]), count=2, query_count=4)


def test_prepare_writes_selected_records_in_dump_order_and_reuses_its_work(tmp_path):
    dump = _dump(tmp_path / "d.jsonl", IDS)
    work = tmp_path / "work"
    state = prepare(dump, work, count=8, query_count=2, seed=0, on_error="strict")
    assert state["counts"] == {"base": 8, "queries": 2}
    base = pq.read_table(work / "base.parquet")
    ids = base.column("id").to_pylist()
    assert ids == sorted(ids, key=IDS.index)
    assert base.column("text").to_pylist() == [f"abstract of {i}" for i in ids]
    assert base.select(list(ATTRIBUTE_KEYS)).schema == ATTRIBUTE_SCHEMA
    stamp = (work / "base.parquet").stat().st_mtime_ns
    assert prepare(dump, work, count=8, query_count=2, seed=0, on_error="strict") == state
    assert (work / "base.parquet").stat().st_mtime_ns == stamp
    changed = prepare(dump, work, count=9, query_count=2, seed=0, on_error="strict")
    assert changed["counts"] == {"base": 9, "queries": 2}


def test_snapshot_attributes_agree_with_the_dump_fields():
    raw = [json.loads(line) for line in SNAPSHOT.read_text().splitlines()]
    records = list(iter_records(SNAPSHOT))
    assert len(records) == len(raw) == 200
    for source, record in zip(raw, records, strict=True):
        attributes = record.attributes
        categories = source["categories"].split()
        assert record.arxiv_id == source["id"]
        assert attributes["sub_categories"] == list(dict.fromkeys(categories))
        assert set(attributes["main_categories"]) == {c.split(".")[0] for c in categories}
        assert attributes["number_of_sub_categories"] == len(set(categories))
        assert attributes["number_of_main_categories"] == len(attributes["main_categories"])
        assert attributes["submitter"] == source["submitter"]
        assert attributes["license"] == source["license"]
        assert attributes["has_comments"] == bool(source["comments"])
        assert attributes["number_of_versions"] == len(source["versions"])
        day = dt.date(1970, 1, 1) + dt.timedelta(days=attributes["update_date"])
        assert day.isoformat() == source["update_date"]
        assert attributes["number_of_authors"] == len(attributes["authors"])
        assert len(attributes["authors"]) == len({tuple(a[:3]) for a in source["authors_parsed"]})


def test_snapshot_first_record_authors_are_decoded_names():
    first = next(iter(iter_records(SNAPSHOT)))
    assert first.attributes["authors"] == [
        "C. Balázs",
        "E. L. Berger",
        "P. M. Nadolsky",
        "C. -P. Yuan",
    ]
    assert first.attributes["update_date"] == 14209  # 2008-11-26


def test_jsonl_output_has_the_published_form(tmp_path):
    records = list(iter_records(SNAPSHOT))
    table = attributes_table([r.attributes for r in records])
    path = tmp_path / "database_attributes.jsonl"
    assert write_attributes_jsonl(table, path) == 200
    second = path.read_text().splitlines()[1]
    assert second == (
        '{"submitter": "Louis Theran", "has_comments": true, "main_categories": ["math", "cs"], '
        '"sub_categories": ["math.CO", "cs.CG"], "number_of_main_categories": 2, '
        '"number_of_sub_categories": 2, "license": "http://arxiv.org/licenses/nonexclusive-distrib/1.0/", '
        '"number_of_versions": 2, "update_date": 14226, "authors": ["Ileana Streinu", "Louis Theran"], '
        '"number_of_authors": 2}'
    )
    assert read_attributes_jsonl(path).equals(table)


def test_reading_published_jsonl_names_line_and_key(tmp_path):
    good = json.loads(
        '{"submitter": "x", "has_comments": true, "main_categories": ["math"], "sub_categories": ["math.CO"], '
        '"number_of_main_categories": 1, "number_of_sub_categories": 1, "license": null, '
        '"number_of_versions": 1, "update_date": 1, "authors": ["x"], "number_of_authors": 1}'
    )
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps({**good, "update_date": "2016"}) + "\n")
    with pytest.raises(DatasetError, match=r"a.jsonl:2: key 'update_date' holds '2016'; expected an integer"):
        read_attributes_jsonl(path)
    del good["has_comments"]
    path.write_text(json.dumps(good) + "\n")
    with pytest.raises(DatasetError, match=r"a.jsonl:1: missing key\(s\) \['has_comments'\]"):
        read_attributes_jsonl(path)
