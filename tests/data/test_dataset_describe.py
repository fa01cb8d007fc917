"""The dataset named beside the machine: in `fanns-bench run`'s closing summary and the report
header, from the manifest's facts (items, model, dimension, archives), whichever it holds."""

from types import SimpleNamespace

import pandas as pd
import pytest

from fanns_bench.data.dataset_facts import dataset_facts, dataset_text
from fanns_bench.report.document import dataset_lines, header
from fanns_bench.results.recompute import dataset_records, keep_ground_truth
from fanns_bench.runner.run import SweepOutcome
from fanns_bench.runner.run_summary import print_summary

MANIFEST = {
    "name": "arxiv_sample",
    "count": 10000,
    "query_count": 1000,
    "model": "sentence-transformers/all-MiniLM-L6-v2",
    "dimension": 384,
    "archives": {"math": 2500, "astro-ph": 1200, "cs": 3000},
    "metric": "ip",
}
FULL = "arxiv_sample: 10,000 items + 1,000 queries, all-MiniLM-L6-v2, 384-d, "
FULL += "3 archives: cs 3,000, math 2,500, astro-ph 1,200"


def test_every_fact_present_is_named_archives_largest_first():
    assert dataset_text(dataset_facts(MANIFEST)) == FULL


@pytest.mark.parametrize(
    ("manifest", "text"),
    [
        ({"name": "tiny"}, "tiny"),  # nothing but a name: no crash, nothing guessed
        ({}, "unnamed dataset"),
        (  # today's builder: embedding_model, counts under selection, no archives
            {"name": "s", "embedding_model": "m/x", "embedding_dimension": 8, "selection": {"count": 5}},
            "s: 5 items, x, 8-d",
        ),
        (
            {"name": "s", "count": 5, "archives": ["b", "a"], "selection": "odd"},
            "s: 5 items, 2 archives: a, b",
        ),
        ({"name": "s", "selection": {"archives": {"cs": 1}}}, "s: 1 archive: cs 1"),
        ({"name": "s", "model": "", "dimension": None, "archives": "not a list"}, "s"),
    ],
)
def test_missing_or_differently_named_facts_are_left_out(manifest, text):
    assert dataset_text(dataset_facts(manifest)) == text


def test_a_long_archive_list_is_cut_with_a_count():
    names = [f"a{i:02d}" for i in range(15)]
    text = dataset_text(dataset_facts({"name": "s", "archives": names}))
    assert text.endswith("a11 (+3 more)") and "15 archives: a00, " in text


def summary(capsys, tmp_path, dataset, rows) -> list[str]:
    print_summary(SweepOutcome(tmp_path, pd.DataFrame(rows), [], 1, dataset=dataset))
    return capsys.readouterr().out.splitlines()


ROW = {
    "key": "k", "status": "ok", "reason": None, "method": "exact", "filter_type": "EM",
    "selectivity_bucket": 0.1, "k": 10, "threads": 1, "recall": 1.0, "qps": 10.0, "n_queries": 5,
    "cpu_count": 2, "cpu_model": "Some CPU 9000",
}  # fmt: skip


def test_the_closing_summary_names_the_dataset_beside_the_machine(capsys, tmp_path):
    lines = summary(capsys, tmp_path, dataset_facts(MANIFEST), [ROW])
    at = lines.index(f"dataset: {FULL}")
    assert lines[at + 1] == "machine: Some CPU 9000"


def test_the_closing_summary_says_when_neither_is_recorded(capsys, tmp_path):
    lines = summary(capsys, tmp_path, {}, [{k: v for k, v in ROW.items() if k != "cpu_model"}])
    assert "dataset: not recorded" in lines and "machine: unknown machine" in lines


def frame(**extra) -> pd.DataFrame:
    base = {
        "status": "ok", "dataset": "arxiv_sample", "dataset_hash": "h1", "dataset_count": 10000,
        "dimension": 384, "cpu_model": "Some CPU 9000", "fanns_bench_version": "0", "git_commit": "c",
    }  # fmt: skip
    return pd.DataFrame([{**base, **extra}])


def kept(tmp_path, manifest, content_hash="h1"):
    """keep_ground_truth's record for a dataset with `manifest` (files it copies: empty)."""
    workload = tmp_path / "workload"
    workload.mkdir(exist_ok=True)
    for name in ("workload.parquet", "groundtruth.npz"):
        (workload / name).write_bytes(b"")
    data = SimpleNamespace(
        name=manifest.get("name"), path=tmp_path, content_hash=content_hash, manifest=manifest
    )
    keep_ground_truth(tmp_path / "results", workload, f"digest-{content_hash}", data)
    return tmp_path / "results"


def test_the_run_records_the_facts_and_the_report_header_names_them(tmp_path):
    results = kept(tmp_path, MANIFEST)
    assert dataset_records(results)[0]["facts"] == dataset_facts(MANIFEST)
    text = header(frame(), results).splitlines()
    at = text.index(f"- dataset: {FULL}")
    assert text[at + 1] == "- machine: Some CPU 9000"


def test_older_results_without_facts_name_what_the_rows_hold(tmp_path):
    results = kept(tmp_path, MANIFEST, content_hash="other")  # a record of another dataset
    (results / "workloads" / "broken").mkdir()
    (results / "workloads" / "broken" / "dataset.json").write_text("{not json")
    assert dataset_lines(frame(), results) == ["arxiv_sample: 10,000 items, 384-d"]
    assert dataset_lines(frame().drop(columns=["dataset_count", "dimension"]), results) == ["arxiv_sample"]
    assert dataset_lines(frame().drop(columns=["dataset"]), results) == []
