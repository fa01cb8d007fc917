"""Reports come from the Parquet rows alone: no method registry, extras or compiled core."""

from __future__ import annotations

import sys

import pytest

from fanns_bench.cli import main
from fanns_bench.results.row_files import write_row
from tests.report.test_outputs import make_row

BLOCKED = ("fanns_bench.methods", "fanns_bench.methods.registry", "fanns_bench._core")


def results_folder(tmp_path):
    results = tmp_path / "results"
    for method, qps, threading in (("acorn_gamma_ref", 100.0, "threads"), ("hnswlib", 500.0, "single")):
        for bucket in (0.01, 0.1):
            for recall in (0.9, 0.99):
                row = make_row(method, bucket, recall, qps * (2 if recall < 0.95 else 1), {})
                row |= {"experiment": "paper_fig23_em_scaled", "threads": 4, "method_threading": threading}
                write_row(results, row)
    return results


def block_methods(monkeypatch):
    """Make importing the registry (and the methods, and the core) fail."""
    for name in BLOCKED:
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(ImportError):
        from fanns_bench.methods.registry import method_names  # noqa: F401


def test_report_with_the_paper_comparison_runs_without_the_registry(tmp_path, monkeypatch, capsys):
    results = results_folder(tmp_path)
    block_methods(monkeypatch)
    assert main(["report", str(results), "--compare", "paper"]) == 0
    text = capsys.readouterr().out
    assert "hnswlib search with one thread whatever the query thread count" in text  # from the rows
    assert "### Fig. 23 (tiny)" in text and "UNG: not measured here" in text
    assert (results / "figures" / "paper" / "paper_fig__23__tiny.png").stat().st_size > 0
    assert main(["plot", str(results)]) == 0
