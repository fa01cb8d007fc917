"""Figures and tables from a small Parquet results directory built in the test."""

import json
from datetime import UTC, datetime

import pandas as pd
import pytest

from fanns_bench.errors import ResultsError
from fanns_bench.report import plot_results, report_results
from fanns_bench.report.frame import load_frame
from fanns_bench.report.tables import failures, leaderboard, leaderboard_markdown
from fanns_bench.results.row_files import write_row


def make_row(method, bucket, recall, qps, build, *, status="ok", reason=None, build_seconds=2.0,
             index_bytes=4_000_000, search=None):  # fmt: skip
    """A plausible result row (dataset tiny, filter EM, k=10, 1 thread)."""
    build_params = json.dumps(build, sort_keys=True)
    search_params = json.dumps(search or {"ef": qps}, sort_keys=True)
    ok = status == "ok"
    return {
        "key": f"{method}-{bucket}-{build_params}-{search_params}".replace('"', ""),
        "status": status, "reason": reason, "experiment": "test", "dataset": "tiny",
        "dataset_hash": "d1", "dataset_count": 1000, "dimension": 8, "metric": "l2",
        "workload": "tiny-em", "filter_type": "EM", "selectivity_bucket": bucket,
        "selectivity": bucket * 0.98, "n_queries": 100, "k": 10, "method": method,
        "build_params": build_params, "search_params": search_params, "threads": 1,
        "recall": recall, "recall_tie_aware": recall,
        "recall_per_query": [recall] * 3 if ok else None,
        "qps": qps, "qps_std": qps * 0.01 if ok else None, "qps_best": qps,
        "batch_seconds": [100 / qps] * 3 if ok else None,
        "latency_p50_ms": 1000 / qps if ok else None, "filter_seconds": 0.001,
        "build_seconds": build_seconds, "index_bytes": index_bytes,
        "build_peak_rss_bytes": 50_000_000, "search_peak_rss_bytes": 60_000_000,
        "cpu_model": "Test CPU @ 2.00GHz", "cpu_count": 2, "hostname": "testhost",
        "git_commit": "0123456789abcdef", "versions": "{}", "fanns_bench_version": "0.1.0",
        "timestamp": datetime(2026, 1, 1, tzinfo=UTC),
    }  # fmt: skip


ALPHA_16 = {"M": 16}
ALPHA_32 = {"M": 32}
BETA = {"nlist": 8}
ROWS = [
    make_row("alpha", 0.1, 0.80, 5000.0, ALPHA_16),
    make_row("alpha", 0.1, 0.92, 3000.0, ALPHA_16),
    make_row("alpha", 0.1, 0.97, 1500.0, ALPHA_16),
    make_row("alpha", 0.1, 0.93, 3500.0, ALPHA_32, build_seconds=5.0, index_bytes=8_000_000),
    make_row("alpha", 0.01, 0.70, 4000.0, ALPHA_16),
    make_row("alpha", 0.01, 0.88, 2000.0, ALPHA_16),
    make_row("beta", 0.1, 0.85, 8000.0, BETA, build_seconds=1.0, index_bytes=2_000_000),
    make_row("beta", 0.1, 0.91, 4000.0, BETA, build_seconds=1.0, index_bytes=2_000_000),
    make_row("beta", 0.1, 0.94, 2500.0, BETA, build_seconds=1.0, index_bytes=2_000_000),
    make_row("beta", 0.01, 0.91, 3000.0, BETA, build_seconds=1.0, index_bytes=2_000_000),
    make_row("beta", 0.01, 0.96, 1000.0, BETA, build_seconds=1.0, index_bytes=2_000_000),
    make_row(
        "gamma",
        0.1,
        None,
        None,
        {"x": 1},
        status="failed",
        reason="build timed out after 60 s",
        search={"ef": 10},
    ),  # fmt: skip
    make_row(
        "delta",
        0.01,
        None,
        None,
        {},
        status="unsupported",
        reason="eq on a categorical attribute is not supported",
        search={},
    ),  # fmt: skip
]


@pytest.fixture(scope="module")
def results_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("results")
    for row in ROWS:
        write_row(directory, row)
    return directory


@pytest.fixture(scope="module")
def frame(results_dir):
    return load_frame(results_dir)


def test_leaderboard_rows_are_exact_and_sorted_by_qps_at_09(frame):
    expected = (
        "### tiny · filter EM · selectivity 0.01 · k=10 · 1 query thread\n\n"
        "| rank | method | QPS @ recall ≥ 0.9 | QPS range | QPS @ recall ≥ 0.95 | max recall | answers | build s | index MB |\n"
        "| --- | --- | ---: | ---: | ---: | ---: | --- | ---: | ---: |\n"
        "| 1 | beta | 3,000 | 3,000–3,000 | 1,000 | 0.960 | ? | 1 | 2 |\n"
        "| — | alpha | — | — | — | 0.880 | ? | 2 | 4 |\n"
        "\n"
        "### tiny · filter EM · selectivity 0.1 · k=10 · 1 query thread\n\n"
        "| rank | method | QPS @ recall ≥ 0.9 | QPS range | QPS @ recall ≥ 0.95 | max recall | answers | build s | index MB |\n"
        "| --- | --- | ---: | ---: | ---: | ---: | --- | ---: | ---: |\n"
        "| 1 | beta | 4,000 | 4,000–4,000 | — | 0.940 | ? | 1 | 2 |\n"
        "| 2 | alpha | 3,500 | 3,500–3,500 | 1,500 | 0.970 | ? | 5 | 8 |\n"
    )
    assert expected in leaderboard_markdown(leaderboard(frame))


def leader_rows(spreads, **extra):
    """One section: method m<i> with QPS 1000 * (len - i) and the given (min, best) spread."""
    n = len(spreads)
    return pd.DataFrame(
        [
            {**make_row(f"m{i}", 0.1, 0.95, 1000.0 * (n - i), ALPHA_16), "qps_min": low,
             "qps_best": high, **extra}
            for i, (low, high) in enumerate(spreads)
        ]
    )  # fmt: skip


@pytest.mark.parametrize(
    "spreads, ranks",
    [
        ([(2900, 3100), (1900, 2100), (900, 1100)], ["1", "2", "3"]),  # apart: ranked
        ([(2500, 3100), (1900, 2600), (900, 1100)], ["=1", "=1", "3"]),  # m1 reaches the leader's range
        ([(2900, 3100), (1500, 2100), (900, 1600)], ["1", "=2", "=2"]),
    ],
)
def test_leaderboard_ties_methods_whose_qps_ranges_overlap(spreads, ranks):
    board = leaderboard(leader_rows(spreads))
    assert board["rank"].tolist() == ranks
    assert board["qps_low"].tolist() == [low for low, _ in spreads]


def test_leaderboard_spread_falls_back_to_the_repetition_times():
    rows = leader_rows([(None, None)]).assign(batch_seconds=[[0.2, 0.1, 0.05]], qps_best=None)
    board = leaderboard(rows)
    assert (board["qps_low"].iat[0], board["qps_high"].iat[0]) == (500.0, 2000.0)


def test_leaderboard_marks_noisy_points_and_shows_violations_and_short_answers():
    rows = leader_rows([(1900, 2100), (900, 1100)])
    rows = rows.assign(noisy=[True, False], violation_rate=[0.0, 0.0213], short_queries=[7, 0])
    text = leaderboard_markdown(leaderboard(rows))
    assert "| 1 | m0 | 2,000* | 1,900–2,100 | 2,000 | 0.950 | 7/100 short |" in text
    assert "| 2 | m1 | 1,000 | 900–1,100 | 1,000 | 0.950 | 2.13% outside filter |" in text


@pytest.mark.parametrize("threads, noted", [(2, True), (1, False)])
def test_multi_thread_leaderboards_note_methods_that_ignore_the_thread_count(threads, noted):
    rows = pd.concat(
        [
            leader_rows([(1900, 2100)]).assign(method=name, method_threading=threading)
            for name, threading in (("exact", "single"), ("faiss_hnsw", "threads"))
        ]
    )
    text = leaderboard_markdown(leaderboard(rows.assign(threads=threads)))
    note = "Note: exact search with one thread whatever the query thread count"
    assert (note in text) is noted and "faiss_hnsw search with one" not in text


def test_leaderboard_names_the_config_behind_qps_at_09(frame):
    board = leaderboard(frame).set_index(["selectivity_bucket", "method"])
    assert board.loc[(0.1, "alpha"), "build_params"] == '{"M": 32}'
    assert board.loc[(0.01, "alpha"), "search_params"] == '{"ef": 2000.0}'  # max-recall config


def test_failures_table_lists_failed_and_unsupported_with_reasons(frame):
    table = failures(frame)
    assert table.to_dict("records") == [
        {"dataset": "tiny", "filter_type": "EM", "method": "gamma", "status": "failed",
         "build_params": '{"x": 1}', "rows": 1, "reason": "build timed out after 60 s"},
        {"dataset": "tiny", "filter_type": "EM", "method": "delta", "status": "unsupported",
         "build_params": "{}", "rows": 1, "reason": "eq on a categorical attribute is not supported"},
    ]  # fmt: skip


def test_report_results_writes_every_table(results_dir, tmp_path):
    text, paths = report_results(results_dir, tmp_path / "tables")
    names = sorted(p.name for p in paths)
    assert names == sorted(
        [f"{stem}.{ext}" for stem in ("buckets", "leaderboard", "failures")
         for ext in ("md", "tex")] + ["leaderboard.csv", "report.md", "noise.md", "answers.md"]
    )  # fmt: skip
    assert all(p.stat().st_size > 0 for p in paths)
    assert "| 1 | beta | 4,000 | 4,000–4,000 | — | 0.940 | ? | 1 | 2 |" in text
    assert "build timed out after 60 s" in text and "no matching run" not in text
    latex = (tmp_path / "tables" / "leaderboard.tex").read_text()
    assert r"\begin{tabular}{llrrrrlrr}" in latex and r"QPS @ recall $\geq$ 0.9" in latex


def test_report_defaults_to_a_tables_dir_inside_the_results(results_dir):
    _, paths = report_results(results_dir)
    assert {p.parent for p in paths} == {results_dir / "tables"}


def test_plot_results_writes_every_figure_and_caption(results_dir, tmp_path):
    paths = plot_results(results_dir, tmp_path / "figures")
    stems = ["recall_qps__tiny__EM__k10__t1", "qps_vs_selectivity__tiny__EM__k10__t1",
             "build__tiny__t1"]  # fmt: skip
    expected = [f"{s}.{ext}" for s in stems for ext in ("png", "pdf", "txt")]
    assert sorted(p.name for p in paths) == sorted([*expected, "excluded_runs.txt"])
    for path in paths:
        assert path.stat().st_size > 0
        if path.suffix == ".png":
            assert path.read_bytes().startswith(b"\x89PNG")
        if path.suffix == ".pdf":
            assert path.read_bytes().startswith(b"%PDF")
    caption = (tmp_path / "figures" / f"{stems[0]}.txt").read_text()
    assert "Test CPU @ 2.00GHz" in caption and "1 query thread" in caption
    assert 'gamma [failed] build {"x": 1}: build timed out after 60 s' in caption
    assert "delta [unsupported]" in caption
    assert not list((tmp_path / "figures").glob(".*tmp"))  # no temporary files left


def test_empty_results_dir_raises_results_error(tmp_path):
    with pytest.raises(ResultsError, match="no result rows"):
        plot_results(tmp_path)
    with pytest.raises(ResultsError, match="no result rows"):
        report_results(tmp_path)


def test_missing_or_non_directory_results_raise_results_error(tmp_path):
    with pytest.raises(ResultsError, match="no such results directory"):
        report_results(tmp_path / "absent")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ResultsError, match="not a directory"):
        plot_results(tmp_path / "file")


def test_report_shows_the_saved_bucket_table_with_empty_buckets_and_shortfalls(results_dir, tmp_path):
    from fanns_bench.results.bucket_files import write_buckets

    results_dir = tmp_path / "results"
    for row in ROWS:
        write_row(results_dir, {**row, "workload_digest": "abc"})

    saved = pd.DataFrame(
        {
            "filter_type": ["EM", "EM", "EM"],
            "selectivity_bucket": [0.01, 0.1, 0.5],
            "n_queries": [100, 100, 0],
            "selectivity_min": [0.006, 0.07, None],
            "selectivity_median": [0.0098, 0.1, None],
            "selectivity_max": [0.019, 0.18, None],
            "requested": [100.0, 100.0, 100.0],
            "left_out": [0, 0, 0],
            "shortfall": [0, 0, 100],
            "note": ["", "", "EM on category: bucket 0.5 filled 0 of 100 queries"],
        }
    )
    write_buckets(results_dir, "tiny", "tiny-em", "abc", saved)
    write_buckets(results_dir, "tiny", "tiny-em", "old", saved.assign(n_queries=7))  # another run
    text, _ = report_results(results_dir, tmp_path / "tables")
    assert "## Workload buckets" in text
    assert "| tiny | tiny-em | EM | 0.01 | 100 | 0.006 | 0.0098 | 0.019 | 0 |  |" in text
    assert "| tiny | tiny-em | EM | 0.5 | 0 | — | — | — | 100 | EM on category: bucket 0.5 filled 0" in text


def test_report_bucket_table_falls_back_to_the_rows_without_a_saved_table(results_dir, tmp_path):
    text, _ = report_results(results_dir, tmp_path / "tables")
    assert "| tiny | tiny-em | EM | 0.01 | 100 | — | — | — | ? |  |" in text


def test_rows_load_in_file_order_and_a_corrupt_row_file_is_named(tmp_path):
    from fanns_bench.results.row_files import load_results, row_path

    for row in ROWS:
        write_row(tmp_path, row)
    frame = load_results(tmp_path)
    assert sorted(frame["key"]) == sorted(r["key"] for r in ROWS) and len(frame) == len(ROWS)
    bad = row_path(tmp_path, ROWS[0]["key"])
    bad.write_bytes(b"not parquet")
    with pytest.raises(ResultsError, match=f"{bad}: unreadable result file"):
        load_results(tmp_path)


def test_report_says_noise_and_load_are_not_recorded_in_older_results(results_dir, tmp_path):
    text, _ = report_results(results_dir, tmp_path / "tables")
    assert "- noisy points: not recorded" in text and "- machine load: not recorded" in text
    assert "Short answers: not recorded in these results." in text
    assert "gamma on EM (1 rows): build timed out after 60 s — no traceback file kept" in text


def test_report_shows_noise_invalid_rows_violations_short_answers_and_tracebacks(frame, tmp_path):
    from fanns_bench.report.document import write_report

    ok = frame["status"] == "ok"
    frame = frame.assign(
        load_avg=1.0, noisy=False, noisy_reason=None, short_queries=0, empty_slots=0, violation_rate=0.0
    )

    def at(method, recall):
        return frame.index[(frame["method"] == method) & ok & (frame["recall"] == recall)][0]

    frame.loc[[at("alpha", 0.80), at("alpha", 0.92)], ["noisy", "noisy_reason", "load_avg"]] = [
        True, "load 3.5 above 2 CPUs", 3.5]  # fmt: skip
    frame.loc[at("alpha", 0.70), ["noisy", "noisy_reason"]] = [
        True,
        "spread 40% above 20%; load 2.9 above 2 CPUs",
    ]
    frame.loc[at("beta", 0.85), ["short_queries", "empty_slots"]] = [12, 80]
    frame.loc[at("beta", 0.91), "violation_rate"] = 0.05
    frame.loc[at("beta", 0.94), ["status", "violation_rate", "reason"]] = [
        "invalid",
        0.25,
        "ids outside the filter",
    ]
    gamma = frame.loc[frame["method"] == "gamma", "key"].iloc[0]
    (tmp_path / "errors").mkdir()
    lines = "".join(f"line {i}\n" for i in range(20))
    (tmp_path / "errors" / f"{gamma}.txt").write_text(lines + "TimeoutError: build took 61 s\n")
    text, _ = write_report(frame, tmp_path, tmp_path / "tables")
    assert "- noisy points: 3 of 10 ok points (3 × load … above 2 CPUs; 1 × spread …% above 20%)" in text
    assert "median 1, max 3.5 on 2 CPUs; 2 points ran with the load above the CPU count" in text
    assert "| alpha | 6 | 3 | 3.5 | 3 × load … above 2 CPUs; 1 × spread …% above 20% |" in text
    assert "| tiny | beta | EM | 0.1 | 10 | 1 | 1 | 25.00% | ids outside the filter |" in text
    assert "| beta | EM | 1 of 4 | 5.00% | 5.00% |" in text
    assert "| tiny | beta | EM | 0.1 | 10 | 1 | 1 | 12 of 100 | 80 | 0.850 |" in text
    assert "## Failed, invalid and unsupported runs" in text and "| tiny | EM | beta | invalid |" in text
    tail = text.split("(`errors/" + gamma + ".txt`):")[1]
    assert (
        "  line 15\n  line 16" in tail and "TimeoutError: build took 61 s" in tail and "line 14" not in tail
    )
