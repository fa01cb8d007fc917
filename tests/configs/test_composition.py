"""Composition rules: experiments narrow to the chosen methods, Hydra syntax passes through."""

import pytest

from fanns_bench.configs import compose, normalise_overrides
from fanns_bench.errors import ConfigError


def test_bare_words_are_experiments_and_hydra_syntax_passes():
    arguments = ["laptop", "~method.faiss_ivf", "+method.x.name=exact", "++runner.k=[10]", "--multirun"]
    assert normalise_overrides(arguments) == ["experiment=laptop", *arguments[1:]]


def test_choosing_methods_on_an_experiment_runs_exactly_those_with_its_grids():
    config = compose(["laptop", "method=[exact,faiss_ivf]"])
    assert sorted(config["method"]) == ["exact", "faiss_ivf"]
    assert config["method"]["faiss_ivf"]["search"] == {"nprobe": [4, 16, 64]}  # the laptop grid


def test_an_experiment_without_a_choice_keeps_its_own_methods():
    assert sorted(compose(["smoke"])["method"]) == ["exact", "faiss_hnsw"]


def test_command_line_values_beat_the_experiment_grid():
    config = compose(["laptop", "method=[faiss_hnsw]", "method.faiss_hnsw.search.efSearch=[5]"])
    assert config["method"]["faiss_hnsw"]["search"] == {"efSearch": [5]}


def test_hydra_delete_and_add_work_on_methods():
    deleted = compose(["smoke", "~method.faiss_hnsw"])
    assert sorted(deleted["method"]) == ["exact"]
    added = compose(["smoke", "+method.second.name=exact"])
    assert sorted(added["method"]) == ["exact", "faiss_hnsw", "second"]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            "experiment=nope",
            "unknown experiment 'nope'; available experiments: bench_acorn, bench_methods, laptop,",
        ),
        ("method=[exact,nope]", "unknown method 'nope'; available methods: acorn_1,"),
        ("dataset=nope", "unknown dataset 'nope'; available datasets: "),
        ("workload=nope", "unknown workload 'nope'; available workloads: "),
    ],
)
def test_unknown_names_are_errors_listing_the_valid_ones(override, message):
    with pytest.raises(ConfigError, match="^" + message):
        compose([override])
