"""The shipped sample's record draw (`arxiv_mix`): strata, shares, filters, determinism."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from fanns_bench.data.arxiv_mix import archive_counts, main, mix, plan, valid_categories
from fanns_bench.data.arxiv_records import derive_record, iter_records
from fanns_bench.errors import ConfigError, DatasetError


def _record(arxiv_id: str, categories: str, date: str = "2012-01-01") -> dict:
    return {"id": arxiv_id, "categories": categories, "abstract": f"text {arxiv_id}", "update_date": date}


def _write(path: Path, records: list[dict]) -> Path:
    with gzip.open(path, "wt") as handle:
        handle.writelines(json.dumps(r) + "\n" for r in records)
    return path


@pytest.fixture
def files(tmp_path):
    oai = [_record(f"1201.{n:05d}", "math.CO cs.DM" if n % 2 else "cond-mat.str-el") for n in range(80)]
    oai += [_record(f"1202.{n:05d}", "astro-ph.GA") for n in range(20)]  # 20 % astro-ph
    full = [_record(f"1203.{n:05d}", "astro-ph.CO gr-qc") for n in range(40)]
    recent = [_record(f"2504.{n:05d}", "cs.CL", "2025-04-01") for n in range(30)]
    recent += [_record(f"2506.{n:05d}", "cs.LG", "2025-06-01") for n in range(30)]  # after the end
    recent += [_record(f"2505.{n:05d}", "cs.CL I.2.7", "2025-05-01") for n in range(30)]  # ACM class
    return {
        "oai": _write(tmp_path / "oai.jsonl.gz", oai),
        "full": _write(tmp_path / "full.jsonl.gz", full),
        "recent": _write(tmp_path / "recent.jsonl.gz", recent),
    }


def test_valid_categories_accepts_arxiv_names_and_refuses_class_codes():
    def record(categories: str):
        return derive_record(_record("1", categories))

    assert valid_categories(record("math.CO hep-th cond-mat.str-el q-bio.NC physics.comp-ph"))
    assert not valid_categories(record("cs.CL I.2.7"))
    assert not valid_categories(record("cs.LG 68T50"))
    assert not valid_categories(record("math.AG (Primary)"))


def test_plan_splits_recent_share_then_astro_share_of_the_rest():
    assert plan(1000, 0.1, 0.2) == {"oai": 720, "full": 180, "recent": 100}
    assert plan(10, 0.0, 0.0) == {"oai": 10, "full": 0, "recent": 0}
    with pytest.raises(ConfigError, match="recent_share=1.5"):
        plan(1000, 1.5, 0.2)


def test_mix_draws_each_stratum_by_its_rule(files, tmp_path):
    out = tmp_path / "mixed.jsonl.gz"
    info = mix(out, **files, total=50, recent_share=0.2, recent_until="2025-05-08")
    assert info["counts"] == {"oai": 32, "full": 8, "recent": 10}  # astro-ph share of oai: 0.2
    records = list(iter_records(out))
    assert len(records) == 50 == len({r.arxiv_id for r in records})
    prefixes = [r.arxiv_id[:4] for r in records]
    assert prefixes.count("1202") == 0  # the OAI sample's astro-ph records come from the full file
    assert prefixes.count("1203") == 8 and prefixes.count("2504") == 10
    assert "2506" not in prefixes and "2505" not in prefixes  # too late; ACM class in categories
    assert info["scanned"]["recent"] == {"usable": 90, "valid": 60, "astro": 0, "kept": 30}
    assert prefixes != sorted(prefixes)  # key order interleaves the strata


def test_mix_is_seeded_and_byte_reproducible(files, tmp_path):
    first = mix(tmp_path / "a.jsonl.gz", **files, total=50, recent_share=0.2)
    again = mix(tmp_path / "b.jsonl.gz", **files, total=50, recent_share=0.2)
    other = mix(tmp_path / "c.jsonl.gz", **files, total=50, recent_share=0.2, seed=1)
    assert first["out"]["sha256"] == again["out"]["sha256"]
    assert first["out"]["sha256"] != other["out"]["sha256"]


def test_mix_refuses_a_stratum_too_small(files, tmp_path):
    with pytest.raises(DatasetError, match="stratum 'recent': 30 records, need 40"):
        mix(tmp_path / "x.jsonl.gz", **files, total=100, recent_share=0.4)
    assert not (tmp_path / "x.jsonl.gz").exists()


def test_archive_counts_count_each_item_once_per_archive_largest_first():
    counts = archive_counts([["math", "cs"], ["math"], ["cs"], ["astro-ph"], ["cs"]])
    assert list(counts.items()) == [("cs", 3), ("math", 2), ("astro-ph", 1)]


def test_command_line_names_a_missing_file_in_one_line(files, tmp_path):
    missing = tmp_path / "nowhere.jsonl.gz"
    arguments = ["--oai", str(files["oai"]), "--full", str(missing), "--recent", str(files["recent"])]
    with pytest.raises(SystemExit, match=r"^error: .*nowhere.jsonl.gz: arXiv metadata dump not found$"):
        main([*arguments, str(tmp_path / "out.jsonl.gz")])
    assert not list(tmp_path.glob("*out*"))


def test_bad_recent_until_is_a_config_error(files, tmp_path):
    with pytest.raises(ConfigError, match="recent_until='May 2025'; expected YYYY-MM-DD"):
        mix(tmp_path / "x.jsonl.gz", **files, total=50, recent_until="May 2025")
