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
def test_alternate_takes_the_two_runs_method_by_method_into_two_whole_folders(tmp_path):
    """smoke (exact, faiss_hnsw): A exact, B exact, A faiss_hnsw, B faiss_hnsw; each folder
    ends with every method's rows, as a whole run's, and the two are compared."""
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--alternate", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode in (0, 1), result.stderr[-2000:]
    runs = [line for line in result.stdout.splitlines() if line.startswith("$ fanns-bench run")]
    order = [(run.split("paths.results=")[1].split()[0][-1], run.split("method=")[1]) for run in runs]
    assert order == [("a", "[exact]"), ("b", "[exact]"), ("a", "[faiss_hnsw]"), ("b", "[faiss_hnsw]")]
    for folder in ("a", "b"):
        rows = pd.read_parquet(tmp_path / folder / "results.parquet")
        assert set(rows.method) == {"exact", "faiss_hnsw"} and set(rows.status) == {"ok"}
    assert "$ fanns-bench compare" in result.stdout


def test_alternate_with_a_bad_override_is_one_error_line(tmp_path):
    result = stability("--quick", "--alternate", "--out", str(tmp_path / "out"), "method=[nope]")
    assert result.returncode == 2 and result.stderr.startswith("error: ") and "Traceback" not in result.stderr
