"""The paper's greedy parameter search (Algorithm 1's steps, its reward, a real tuning run) and
the Optuna strategy over the same search space and reward."""

from __future__ import annotations

import sys
from functools import partial
from pathlib import Path

import pandas as pd
import pytest
import yaml

from fanns_bench.cli import main
from fanns_bench.configs import compose
from fanns_bench.errors import ConfigError
from fanns_bench.tune import TuneSettings, greedy_search, restrict_workload, reward, tune
from fanns_bench.tune_optuna import OptunaSettings, sweep_override, tune_optuna
from tests.sweeps import sweep_config

REPO = Path(__file__).resolve().parents[2]

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


@pytest.fixture
def repo_configs(tmp_path, monkeypatch):
    """Compose from the repository's configs, with datasets and results under `tmp_path`."""
    monkeypatch.setenv("FANNS_BENCH_CONFIGS", str(REPO / "configs"))
    monkeypatch.setenv("FANNS_BENCH_ROOT", str(tmp_path))


def test_optuna_picks_its_best_trial_from_the_grid_and_writes_it_as_a_method_config(tmp_path, repo_configs):
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper")
    overrides = [
        "smoke",
        "method=faiss_hnsw",
        "method.faiss_hnsw.build.M=[4,8,16]",
        "method.faiss_hnsw.build.efConstruction=[16]",
        "method.faiss_hnsw.search.efSearch=[16,64]",
        "runner.latency_queries=2",
    ]
    restrict = partial(restrict_workload, filter_type="EM", selectivity=0.1)
    out = tmp_path / "tune"
    settings = TuneSettings(queries=8, builds=1, target_recall=0.9)
    result = tune_optuna(
        overrides, restrict(compose(overrides)), "faiss_hnsw", out, settings, OptunaSettings(3, 1), restrict
    )
    best = yaml.safe_load((out / "optuna" / "optimization_results.yaml").read_text())
    assert best["best_params"] == {"method.faiss_hnsw.build.M": result.build["M"]}
    assert result.reward == best["best_value"] == max(score for _, score in result.history)
    assert len(result.history) == 3
    assert all(build["M"] in (4, 8, 16) and build["efConstruction"] == 16 for build, _ in result.history)
    written = (out / "faiss_hnsw_tuned.yaml").read_text()
    assert "Optuna TPE sampler" in written.splitlines()[1]
    body = yaml.safe_load(written)
    assert body["build"] == {"M": [result.build["M"]], "efConstruction": [16]}
    assert body["search"] == {"efSearch": [16, 64]}


def test_optuna_refuses_a_grid_with_nothing_to_tune(tmp_path):
    config = sweep_config(tmp_path, {"faiss_hnsw": {"build": {"M": [16], "efConstruction": 40}}})
    with pytest.raises(ConfigError, match="nothing to tune: every build parameter of 'faiss_hnsw' has one"):
        tune_optuna([], config, "faiss_hnsw", tmp_path, TuneSettings(), OptunaSettings(), lambda c: c)


def test_optuna_without_the_plugin_is_one_line_naming_the_extra(repo_configs, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "hydra_plugins.hydra_optuna_sweeper.optuna_sweeper", None)
    status = main(["tune", "--strategy", "optuna", "faiss_hnsw", "smoke", "method.faiss_hnsw.build.M=[8,16]"])
    error = capsys.readouterr().err
    assert status == 2
    assert (
        error
        == "error: tune --strategy optuna needs hydra-optuna-sweeper: pip install 'fanns-bench[optuna]'\n"
    )


@pytest.mark.parametrize("values", [[8, 16], [0.5, 1.0], [True, False], ["category", "tags"], ["a b", "x-y"]])
def test_sweep_override_candidates_reach_each_trial_unchanged(values):
    from hydra.core.override_parser.overrides_parser import OverridesParser

    override = OverridesParser.create().parse_override(sweep_override("method.x.build.p", values))
    assert list(override.sweep_iterator()) == values


@pytest.mark.parametrize("values", [["category", "category,tags"], ["16", "32"], ["a", "it's"], [None, 1]])
def test_sweep_override_refuses_candidates_the_sweeper_would_change(values):
    with pytest.raises(ConfigError, match="cannot pass unchanged"):
        sweep_override("method.x.build.p", values)
