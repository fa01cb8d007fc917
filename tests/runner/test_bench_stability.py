"""scripts/bench_stability.py refuses what would mix two runs' rows or start no hog, before running."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
