"""Repeated builds (`runner.builds`, `build_repeat`) and deterministic builds
(`runner.deterministic_builds`, the `deterministic` column) end to end."""

import pytest

from fanns_bench.errors import ConfigError
from fanns_bench.runner.run import run_sweep
from tests.sweeps import sweep_config

EXACT = {"fake": {"name": "tests.fakes:FakeExact"}}
ONE_THREAD = {"one": {"name": "tests.fakes:FakeOneThread"}}


def test_repeated_builds_add_rows_and_keep_the_first_builds_keys(tmp_path):
    once = run_sweep(sweep_config(tmp_path, EXACT))
    assert set(once.rows.build_repeat) == {0} and once.executed_jobs == 1
    thrice = run_sweep(sweep_config(tmp_path, EXACT, builds=3))
    rows = thrice.rows
    assert thrice.executed_jobs == 2  # the builds=1 run's rows are build 0's
    assert sorted(rows.build_repeat.value_counts().items()) == [(0, 4), (1, 4), (2, 4)]
    assert set(rows[rows.build_repeat == 0].key) == set(once.rows.key)
    assert rows.key.is_unique and set(rows.status) == {"ok"}
    by_point = rows.groupby(["filter_type", "selectivity_bucket"]).key.nunique()
    assert (by_point == 3).all()


def test_one_thread_methods_build_on_one_thread_unless_told_otherwise(tmp_path):
    both = {**EXACT, **ONE_THREAD}
    rows = run_sweep(sweep_config(tmp_path / "a", both, build_threads=2)).rows.set_index("method")
    assert set(rows.loc["one", "build_threads"]) == {1} and set(rows.loc["one", "deterministic"]) == {True}
    assert set(rows.loc["fake", "build_threads"]) == {2} and set(rows.loc["fake", "deterministic"]) == {True}
    free = run_sweep(sweep_config(tmp_path / "b", both, build_threads=2, deterministic_builds=False)).rows
    free = free.set_index("method")
    assert set(free.loc["one", "build_threads"]) == {2} and set(free.loc["one", "deterministic"]) == {False}
    assert set(free.loc["fake", "deterministic"]) == {True}


@pytest.mark.parametrize(
    ("runner", "message"),
    [
        ({"builds": 0}, "runner.builds: expected >= 1, got 0"),
        ({"builds": "2"}, "runner.builds: expected an integer, got '2'"),
        ({"deterministic_builds": "yes"}, "runner.deterministic_builds: expected true or false, got 'yes'"),
    ],
)
def test_bad_build_settings_are_refused(tmp_path, runner, message):
    with pytest.raises(ConfigError, match=message):
        run_sweep(sweep_config(tmp_path, EXACT, **runner))


def _ids_by_build(rows):
    """Per point (search params, filter group), the ids of each build."""
    points = rows.groupby(["method", "search_params", "filter_type", "selectivity_bucket"])
    return [[list(ids) for ids in group.sort_values("build_repeat").ids] for _, group in points]


def test_deterministic_points_return_the_same_ids_from_every_build(tmp_path):
    graph = {
        "acorn": {"name": "acorn_gamma_ref", "build": {"M": [8], "gamma": [4]}, "search": {"ef_search": [8]}}
    }
    rows = run_sweep(sweep_config(tmp_path / "a", graph, build_threads=2, builds=2)).rows
    assert set(rows.status) == {"ok"} and rows.deterministic.all() and set(rows.build_threads) == {1}
    assert all(builds[0] == builds[1] for builds in _ids_by_build(rows))
    unseeded = {"u": {"name": "tests.fakes:FakeUnseeded"}}  # declares `always`, is not
    rows = run_sweep(sweep_config(tmp_path / "b", unseeded, builds=2)).rows
    assert rows.deterministic.all() and not all(builds[0] == builds[1] for builds in _ids_by_build(rows))
