"""Reading a Kaggle-schema arXiv dump: attribute derivation, malformed lines, duplicates."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from fanns_bench.data.arxiv_records import ScanReport, derive_attributes, iter_records
from fanns_bench.errors import ConfigError, DatasetError

FULL = {
    "id": "1602.00001",
    "submitter": "Louis Esperet",
    "authors": "Louis Esperet and Pascal Ochem",
    "title": "t",
    "comments": "12 pages",
    "journal-ref": None,
    "doi": None,
    "report-no": None,
    "categories": "math.CO cs.DM math.CO",
    "license": "http://arxiv.org/licenses/nonexclusive-distrib/1.0/",
    "abstract": "  We study\n  colourings.\n",
    "versions": [{"version": "v1"}, {"version": "v2"}, {"version": "v3"}],
    "update_date": "2016-02-11",
    "authors_parsed": [["Esperet", "Louis", ""], ["Ochem", "Pascal", ""]],
}


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def _line(**changes: object) -> str:
    record = {**FULL, **changes}
    return json.dumps({k: v for k, v in record.items() if v is not ...}, ensure_ascii=False)


def test_full_record_gives_the_published_attributes_exactly():
    assert derive_attributes(dict(FULL)) == {
        "submitter": "Louis Esperet",
        "has_comments": True,
        "main_categories": ["math", "cs"],
        "sub_categories": ["math.CO", "cs.DM"],
        "number_of_main_categories": 2,
        "number_of_sub_categories": 2,
        "license": "http://arxiv.org/licenses/nonexclusive-distrib/1.0/",
        "number_of_versions": 3,
        "update_date": 16842,
        "authors": ["Louis Esperet", "Pascal Ochem"],
        "number_of_authors": 2,
    }


def test_archive_names_keep_hyphens_and_drop_subject_classes():
    attributes = derive_attributes({**FULL, "categories": "astro-ph.GA gr-qc hep-ph astro-ph.CO"})
    assert attributes["main_categories"] == ["astro-ph", "gr-qc", "hep-ph"]
    assert attributes["sub_categories"] == ["astro-ph.GA", "gr-qc", "hep-ph", "astro-ph.CO"]
    assert attributes["number_of_main_categories"] == 3
    assert attributes["number_of_sub_categories"] == 4


def test_missing_optional_fields_become_null_false_or_empty():
    record = {
        k: v
        for k, v in FULL.items()
        if k not in ("submitter", "license", "comments", "versions", "authors_parsed", "authors")
    }
    attributes = derive_attributes(record)
    assert attributes["submitter"] is None
    assert attributes["license"] is None
    assert attributes["has_comments"] is False
    assert attributes["number_of_versions"] is None
    assert attributes["authors"] == []
    assert attributes["number_of_authors"] == 0


def test_empty_versions_list_is_not_carried_so_null_not_zero():
    # record sets that lack the history write `versions: []`; every arXiv paper has a v1
    assert derive_attributes({**FULL, "versions": []})["number_of_versions"] is None


def test_blank_comments_do_not_count_as_comments():
    assert derive_attributes({**FULL, "comments": "   "})["has_comments"] is False


def test_author_names_from_authors_parsed_with_suffix_and_without_affiliation():
    parsed = [
        ["Balázs", "C.", ""],
        ["Evans", "Neal J.", "II"],
        ["Mishchenko", "A. S.", "", "1 and 2"],
        ["Solo"],
    ]
    attributes = derive_attributes({**FULL, "authors_parsed": parsed})
    assert attributes["authors"] == ["C. Balázs", "Neal J. Evans II", "A. S. Mishchenko", "Solo"]
    assert attributes["number_of_authors"] == 4


def test_author_string_is_split_when_authors_parsed_is_absent():
    record = {**FULL, "authors_parsed": None, "authors": "A. Smith, B. Jones and  C.  Lee"}
    assert derive_attributes(record)["authors"] == ["A. Smith", "B. Jones", "C. Lee"]


def test_repeated_author_is_listed_once():
    record = {**FULL, "authors_parsed": [["Smith", "A.", ""], ["Smith", "A.", ""]]}
    attributes = derive_attributes(record)
    assert attributes["authors"] == ["A. Smith"]
    assert attributes["number_of_authors"] == 1


def test_stream_counts_duplicates_missing_abstracts_and_malformed_lines(tmp_path):
    dump = _write(
        tmp_path / "dump.jsonl",
        [
            _line(id="0001"),
            "{not json",
            _line(id="0002", abstract=None),
            _line(id="0003", abstract="   "),
            _line(id="0001", abstract="a different abstract"),
            "",
            "[1, 2]",
            _line(id="0004", update_date="2016-13-45"),
            _line(id="0005", categories=...),
            _line(id="0006", abstract="Énergie noire — 暗黒エネルギー"),
        ],
    )
    report = ScanReport()
    records = list(iter_records(dump, on_error="skip", report=report))
    assert [r.arxiv_id for r in records] == ["0001", "0006"]
    assert [r.line_number for r in records] == [1, 10]
    assert records[0].text == "We study colourings."
    assert records[1].text == "Énergie noire — 暗黒エネルギー"
    assert (report.lines, report.usable, report.malformed, report.invalid) == (9, 2, 2, 2)
    assert (report.no_abstract, report.duplicates) == (2, 1)
    assert report.problem_lines[0].startswith("line 2: not valid JSON")
    assert report.problem_lines[1] == "line 5: id '0001' seen before"
    assert report.problem_lines[2].startswith("line 7: not valid JSON (expected a JSON object")
    assert report.problem_lines[3] == "line 8: field 'update_date' is '2016-13-45'; expected YYYY-MM-DD"
    assert report.problem_lines[4] == "line 9: field 'categories' is missing; expected a string"


def test_strict_mode_stops_at_the_first_malformed_line_with_its_number(tmp_path):
    dump = _write(tmp_path / "dump.jsonl", [_line(id="1"), _line(id="2"), '{"id": "3",'])
    with pytest.raises(DatasetError, match=r"dump.jsonl:3: not valid JSON"):
        list(iter_records(dump, on_error="strict"))


def test_strict_mode_names_the_bad_field(tmp_path):
    dump = _write(tmp_path / "dump.jsonl", [_line(id="1", versions="v1")])
    with pytest.raises(DatasetError, match=r"dump.jsonl:1: field 'versions' is str; expected a list"):
        list(iter_records(dump, on_error="strict"))


def test_gzip_dump_is_read_like_the_plain_one(tmp_path):
    lines = [_line(id="1"), _line(id="2", abstract="ünïcode")]
    plain = _write(tmp_path / "dump.jsonl", lines)
    packed = tmp_path / "dump.jsonl.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    assert list(iter_records(packed)) == list(iter_records(plain))


def test_invalid_utf8_is_a_malformed_line(tmp_path):
    dump = tmp_path / "dump.jsonl"
    dump.write_bytes(_line(id="1").encode() + b"\n" + b'{"id": "\xff\xfe"}\n')
    report = ScanReport()
    assert len(list(iter_records(dump, on_error="skip", report=report))) == 1
    assert report.malformed == 1


def test_unknown_error_mode_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="on_error='ignore'"):
        list(iter_records(_write(tmp_path / "d.jsonl", [_line()]), on_error="ignore"))


def test_missing_dump_names_the_path(tmp_path):
    with pytest.raises(DatasetError, match="nope.jsonl: arXiv metadata dump not found"):
        list(iter_records(tmp_path / "nope.jsonl"))
