"""The paper's greedy parameter search: Algorithm 1's steps, its reward, and a real tuning run."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from fanns_bench.tune import TuneSettings, greedy_search, reward, tune
from tests.sweeps import sweep_config

SCORES = {(8, 10): 1.0, (16, 10): 2.0, (32, 10): 2.5, (16, 20): 3.0, (32, 20): 3.01, (8, 20): 0.5}
SCORES |= {(8, 40): 0.1, (16, 40): 2.9, (32, 40): 2.0}


def scores_of(config):
    return SCORES[(config["M"], config["ef"])]


def test_greedy_search_climbs_coordinate_by_coordinate_and_stops_below_the_threshold():
    values = {"M": [8, 16, 32], "ef": [10, 20, 40]}
    result = greedy_search(values, {"M": 0, "ef": 0}, scores_of, threshold=0.01)
    # M 8 -> 16 (2.0), ef 10 -> 20 (3.0); the next round takes M=32 (3.01: better, but by < 1 %)
    assert result.build == {"M": 32, "ef": 20} and result.reward == 3.01
    assert result.history[0] == ({"M": 8, "ef": 10}, 1.0)
    assert ({"M": 8, "ef": 20}, 0.5) in result.history


def test_reward_is_qps_at_target_recall_averaged_over_builds_else_recall_below_zero():
    rows = pd.DataFrame(
        {
            "status": ["ok"] * 4,
            "search_params": ['{"ef":8}', '{"ef":8}', '{"ef":64}', '{"ef":64}'],
            "recall": [0.90, 0.92, 0.96, 0.98],  # two builds per search point
            "qps": [1000.0, 1200.0, 400.0, 600.0],
        }
    )
    assert reward(rows, 0.95) == 500.0
    assert reward(rows, 0.99) == pytest.approx(0.97 - 1)


@pytest.mark.slow
def test_tune_writes_the_chosen_configuration_as_a_method_config(tmp_path):
    config = sweep_config(
        tmp_path,
        {"faiss_hnsw": {"build": {"M": [4, 16], "efConstruction": [40]}, "search": {"efSearch": [16, 64]}}},
    )
    config["workload"]["filters"] = config["workload"]["filters"][:1]
    result = tune(
        config, "faiss_hnsw", tmp_path / "tune", TuneSettings(queries=8, builds=2, target_recall=0.9)
    )
    written = (tmp_path / "tune" / "faiss_hnsw_tuned.yaml").read_text()
    assert written.startswith("# @package method.faiss_hnsw")
    body = yaml.safe_load(written)
    assert body["build"] == {k: [v] for k, v in result.build.items()} and body["search"] == {
        "efSearch": [16, 64]
    }
    assert result.history[0][0] == {"M": 4, "efConstruction": 40}  # the default 32 is not listed: first
    assert {"M": 16, "efConstruction": 40} in [config for config, _ in result.history]
    assert (tmp_path / "tune" / "runs" / "build1").is_dir()
