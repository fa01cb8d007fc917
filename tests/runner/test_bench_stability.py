"""scripts/bench_stability.py refuses what would mix two runs' rows or start no hog, before running."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

SCRIPT = Path(__file__).parents[2] / "scripts" / "bench_stability.py"


def stability(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *arguments], capture_output=True, text=True, timeout=120
    )


def test_a_folder_with_earlier_results_is_refused(tmp_path):
    (tmp_path / "a").mkdir()
    result = stability("--quick", "--out", str(tmp_path))
    assert result.returncode == 2
    assert f"--out {tmp_path}: not empty; the two runs need fresh folders" in result.stderr
    assert not (tmp_path / "b").exists()


def test_negative_hogs_and_limits_are_refused(tmp_path):
    for flags in (["--hogs", "-1"], ["--hogs", "2", "--hog-limit-s", "0"]):
        result = stability("--quick", "--out", str(tmp_path / "out"), *flags)
        assert result.returncode == 2 and "--hogs must be >= 0 and --hog-limit-s > 0" in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_alternate_takes_the_two_runs_method_by_method_and_process_by_process(tmp_path):
    """smoke (exact, faiss_hnsw) in 2 processes: A exact's first process, B's, A exact's second,
    B's, then faiss_hnsw the same; each folder ends with every method's rows, as a whole run's
    (2 processes each), and the two are compared."""
    overrides = ["runner.processes=2", "runner.repetitions=2"]
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--alternate", "--out", str(tmp_path), *overrides],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode in (0, 1), result.stderr[-2000:]
    runs = [line.split() for line in result.stdout.splitlines() if line.startswith("$ fanns-bench run")]
    words = [dict(w.split("=", 1) for w in run if "=" in w) for run in runs]
    order = [(w["paths.results"][-1], w["method"], w["runner.stop_after_process"]) for w in words]
    assert order == [
        (folder, method, step)
        for method in ("[exact]", "[faiss_hnsw]")
        for step in ("1", "2")
        for folder in ("a", "b")
    ]
    for folder in ("a", "b"):
        rows = pd.read_parquet(tmp_path / folder / "results.parquet")
        assert set(rows.method) == {"exact", "faiss_hnsw"} and set(rows.status) == {"ok"}
        assert set(rows.processes) == {2} and all(len(q) == 2 for q in rows.qps_processes)
        assert not any((tmp_path / folder / "processes").glob("*.json"))
    assert "$ fanns-bench compare" in result.stdout


def test_alternate_with_a_bad_override_is_one_error_line(tmp_path):
    result = stability("--quick", "--alternate", "--out", str(tmp_path / "out"), "method=[nope]")
    assert result.returncode == 2 and result.stderr.startswith("error: ") and "Traceback" not in result.stderr
