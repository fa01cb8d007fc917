"""Sweeps on a local Ray cluster (Hydra's Ray launcher): the merged rows equal those of the
same sweep run by the default local launcher, up to timing and environment columns."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from fanns_bench.results.row_files import load_results

ROOT = Path(__file__).resolve().parents[2]
SWEEP = [
    "experiment=smoke",
    "method=exact,faiss_ivf",
    "runner.k=[5],[10]",  # 2 methods x 2 k: a 4-job sweep
    "workload.selectivities=[0.1,0.5]",
    "runner.build_threads=1",
]
SAME = [
    "key",
    "method",
    "build_params",
    "search_params",
    "filter_type",
    "selectivity_bucket",
    "k",
    "recall",
    "ids",
]


def sweep(root: Path, *launcher: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RAY_USAGE_STATS_ENABLED": "0"}
    command = [sys.executable, "-m", "fanns_bench.cli", "run", "--multirun", f"paths.root={root}", *SWEEP]
    return subprocess.run(
        [*command, *launcher], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900
    )


@pytest.mark.slow
def test_ray_sweep_equals_the_local_sweep(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_ray_launcher", reason="the ray extra is not installed")
    local = sweep(tmp_path / "local")
    assert local.returncode == 0, local.stderr[-2000:]
    on_ray = sweep(tmp_path / "ray", "hydra/launcher=ray_local")
    assert on_ray.returncode == 0, on_ray.stderr[-3000:]
    expected = load_results(tmp_path / "local" / "results").sort_values("key")[SAME].reset_index(drop=True)
    found = load_results(tmp_path / "ray" / "results").sort_values("key")[SAME].reset_index(drop=True)
    assert len(found) == len(expected) > 0 and set(found.k) == {5, 10}
    assert found.drop(columns="ids").equals(expected.drop(columns="ids"))
    assert [list(x) for x in found.ids] == [list(x) for x in expected.ids]
