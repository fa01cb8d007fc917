"""Answers checked beyond recall (issue 22): filter violations make a row `invalid` unless the
method declares approximate filtering, short answers are counted, every stats() counter kept."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fanns_bench.methods.digra.method import Digra
from fanns_bench.methods.nhq.method import NhqNsw
from fanns_bench.report import plot_results, report_results
from fanns_bench.report.frame import load_frame
from fanns_bench.report.tables import failures, leaderboard
from fanns_bench.results.row_files import write_row
from fanns_bench.runner.answers import answer_checks, invalid_reason, stats_json
from fanns_bench.runner.run import run_sweep
from tests.fakes import FakeApproximate, FakeUnfiltered
from tests.report.test_outputs import ROWS, make_row
from tests.sweeps import sweep_config


def test_answer_checks_count_short_queries_only_where_k_items_match():
    ids = np.array([[0, 1, 2], [3, -1, -1], [4, -1, -1], [-1, -1, -1]])
    matches = [np.arange(10), np.arange(10), np.array([4]), np.arange(3)]
    checks = answer_checks(ids, matches, 3, violations=1)
    # query 1 is short (2 empty slots), query 2 matches 1 item only, query 3 is short (3 slots)
    assert checks == {"violation_rate": 1 / 5, "short_queries": 2, "empty_slots": 5}
    assert answer_checks(np.full((2, 3), -1), matches[:2], 3, 0)["violation_rate"] == 0.0


def test_invalid_reason_names_the_count_unless_the_method_filters_approximately():
    measured = {"filter_violations": 3, "ids": [1, 2, 3, 4, -1]}
    reason = invalid_reason(FakeUnfiltered, {}, measured)
    assert reason.startswith("3 of 4 returned ids do not satisfy their query's filter")
    assert invalid_reason(FakeUnfiltered, {}, {"filter_violations": 0, "ids": [1]}) is None
    assert invalid_reason(FakeApproximate, {}, measured) is None
    assert invalid_reason(NhqNsw, {"ef_search": 10}, measured) is None
    assert invalid_reason(Digra, {"strict": False}, measured) is None
    assert invalid_reason(Digra, {"strict": True}, measured) is not None


def test_stats_json_keeps_every_counter():
    assert stats_json({}) is None
    text = stats_json({"hops": np.float32(2.5), "distance_computations": 7, "bad": float("nan")})
    assert json.loads(text) == {"bad": None, "distance_computations": 7, "hops": 2.5}


def test_runner_marks_filter_breakers_invalid_and_counts_short_answers(tmp_path):
    methods = {
        "unfiltered": {"name": "tests.fakes:FakeUnfiltered"},
        "approximate": {"name": "tests.fakes:FakeApproximate"},
        "short": {"name": "tests.fakes:FakeShort"},
        "exact": {"name": "tests.fakes:FakeExact"},
    }
    rows = run_sweep(sweep_config(tmp_path, methods)).rows.set_index(
        ["method", "filter_type", "selectivity_bucket"]
    )
    bad = rows.loc["unfiltered"]
    assert set(bad.status) == {"invalid"} and (bad.filter_violations > 0).all()
    assert bad.reason.str.match(r"\d+ of \d+ returned ids do not satisfy their query's filter").all()
    assert (bad.qps > 0).all() and bad.recall.notna().all()  # its measurements are kept
    assert np.allclose(bad.violation_rate, bad.filter_violations / (bad.n_queries * bad.k))
    approximate = rows.loc["approximate"]
    assert set(approximate.status) == {"ok"} and (approximate.violation_rate > 0).all()
    short = rows.loc["short"]
    assert set(short.status) == {"ok"}
    assert (short.short_queries == short.n_queries).all() and (short.empty_slots == short.n_queries * 8).all()
    assert json.loads(short.method_stats.iloc[0]) == {
        "distance_computations": 7.0,
        "hops": 3.5,
        "visited_nodes": 11,
    }
    exact = rows.loc["exact"]
    assert (exact.short_queries == 0).all() and (exact.violation_rate == 0).all()
    assert exact.method_stats.isna().all()


@pytest.fixture(scope="module")
def invalid_results(tmp_path_factory):
    directory = tmp_path_factory.mktemp("invalid")
    for row in ROWS:
        write_row(directory, row)
    reason = "2240 of 2400 returned ids do not satisfy their query's filter"
    write_row(directory, {**make_row("omega", 0.1, 0.30, 90000.0, {}), "status": "invalid", "reason": reason})
    return directory


def test_invalid_rows_stay_out_of_leaderboards_and_show_in_failures(invalid_results, tmp_path):
    frame = load_frame(invalid_results)
    assert "omega" not in set(leaderboard(frame).method)
    assert "omega" in set(failures(frame).method)
    text, _ = report_results(invalid_results, tmp_path / "tables")
    assert "2240 of 2400 returned ids" in text
    paths = plot_results(invalid_results, tmp_path / "figures")
    caption = next(p for p in paths if p.name.startswith("recall_qps") and p.suffix == ".txt").read_text()
    assert "omega [invalid]" in caption
