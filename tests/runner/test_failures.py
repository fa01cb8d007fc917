"""Failures never destroy results: --force keeps ok rows, failed points are retried and
keep their traceback, a results folder has one writer, runner settings are checked."""

import logging
import threading
import time
from dataclasses import MISSING, fields

import pytest

from fanns_bench.errors import ConfigError, ResultsError
from fanns_bench.report.quality import traceback_tail
from fanns_bench.results.attempts import error_path, failed_attempts
from fanns_bench.results.lock import results_lock
from fanns_bench.results.row_files import load_results
from fanns_bench.runner.job import WorkerSpec
from fanns_bench.runner.run import RunSettings, run_sweep
from fanns_bench.runner.settings import RUNNER_PARAMETERS
from tests.sweeps import sweep_config

PLAIN = {"fake": {"name": "tests.fakes:FakePlain"}}
CRASH = {"fake": {"name": "tests.fakes:FakeSegfault"}}  # same keys as PLAIN, crashes in build
BROKEN = {"fake": {"name": "tests.fakes:FakeBrokenSearch"}}  # same keys, raises in search


@pytest.mark.parametrize("broken", [CRASH, BROKEN], ids=["crash", "search-error"])
def test_a_forced_rerun_that_fails_keeps_the_ok_rows(tmp_path, broken):
    first = run_sweep(sweep_config(tmp_path, PLAIN))
    assert set(first.rows.status) == {"ok"} and first.failures == 0
    forced = run_sweep(sweep_config(tmp_path, broken, force=True))
    rows = load_results(tmp_path / "results")
    assert set(rows.status) == {"ok"} and rows.qps.notna().all()  # the measurements survive
    assert set(forced.rows.key) == set(first.rows.key) and set(forced.rows.status) == {"ok"}
    attempts = failed_attempts(tmp_path / "results")
    assert sorted(attempts.key) == sorted(first.rows.key) and set(attempts.status) == {"failed"}
    assert forced.failures == len(first.rows)  # what makes `run` exit 3
    expected = "SIGSEGV" if broken is CRASH else "deliberate search failure"
    assert attempts.reason.str.contains(expected).all()
    assert all(error_path(tmp_path / "results", key).is_file() for key in first.rows.key)


def test_failed_points_keep_their_traceback(tmp_path):
    outcome = run_sweep(sweep_config(tmp_path, BROKEN))
    assert set(outcome.rows.status) == {"failed"} and outcome.failures == len(outcome.rows)
    text = error_path(tmp_path / "results", outcome.rows.key.iloc[0]).read_text()
    assert "Traceback (most recent call last)" in text and "in search" in text
    tail = traceback_tail(tmp_path / "results", outcome.rows.key.iloc[0], lines=1)
    assert tail == ["RuntimeError: deliberate search failure"]
    assert traceback_tail(tmp_path / "results", "no-such-key") is None


def test_a_crashed_job_gives_each_point_an_error_file(tmp_path):
    outcome = run_sweep(sweep_config(tmp_path, CRASH))
    for key in outcome.rows.key:
        assert "crashed: worker killed by SIGSEGV" in error_path(tmp_path / "results", key).read_text()


def test_a_plain_rerun_retries_failed_points_and_says_so(tmp_path, caplog):
    failed = run_sweep(sweep_config(tmp_path, CRASH))
    assert set(failed.rows.status) == {"failed"}
    with caplog.at_level(logging.INFO, logger="fanns_bench"):
        retried = run_sweep(sweep_config(tmp_path, PLAIN))
    assert f"retrying {len(failed.rows)} failed points" in caplog.text
    assert set(retried.rows.status) == {"ok"} and retried.failures == 0
    assert not any(error_path(tmp_path / "results", key).exists() for key in retried.rows.key)


def test_failed_points_stay_with_retry_failed_off(tmp_path):
    run_sweep(sweep_config(tmp_path, CRASH))
    kept = run_sweep(sweep_config(tmp_path, PLAIN, retry_failed=False))
    assert kept.executed_jobs == 0 and set(kept.rows.status) == {"failed"}


def test_unsupported_points_are_not_retried(tmp_path):
    config = sweep_config(tmp_path, {"eq": {"name": "tests.fakes:FakeEqOnly"}})
    first = run_sweep(config)
    assert "unsupported" in set(first.rows.status) and first.failures == 0
    again = run_sweep(config)
    assert again.executed_jobs == 0


def test_a_second_run_into_a_held_results_folder_is_refused(tmp_path):
    import os
    import socket

    config = sweep_config(tmp_path, PLAIN)
    with results_lock(tmp_path / "results"):
        holder = f"in use by pid {os.getpid()} on {socket.gethostname()}"
        with pytest.raises(ResultsError, match=holder + ".*--wait"):
            run_sweep(config)
    assert not (tmp_path / "results" / "rows").exists()


def test_a_run_with_wait_starts_when_the_holder_ends(tmp_path):
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with results_lock(tmp_path / "results"):
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(10)
    threading.Timer(1.0, release.set).start()
    started = time.monotonic()
    outcome = run_sweep(sweep_config(tmp_path, PLAIN, wait=True))
    holder.join()
    assert time.monotonic() - started >= 1.0 and set(outcome.rows.status) == {"ok"}


def test_a_results_path_that_is_a_file_is_one_clear_error(tmp_path):
    config = sweep_config(tmp_path, PLAIN)
    (tmp_path / "results").write_text("not a folder")
    with pytest.raises(ResultsError, match="results path .* is a file, not a folder"):
        run_sweep(config)


@pytest.mark.parametrize(
    ("runner", "message"),
    [
        ({"memory_limit_gb": -1}, "runner.memory_limit_gb: expected >= 0.001, got -1"),
        ({"build_threads": -3}, "runner.build_threads: expected >= 0, got -3"),
        ({"latency_queries": -5}, "runner.latency_queries: expected >= 0, got -5"),
        ({"repetitions": "abc"}, "runner.repetitions: expected an integer, got 'abc'"),
        ({"repetitions": 0}, "runner.repetitions: expected >= 1, got 0"),
        ({"k": []}, "runner.k: expected at least one value, got []"),
        ({"search_threads": [1, 0]}, "runner.search_threads: expected >= 1, got 0"),
        ({"warmup": "yes"}, "runner.warmup: expected true or false, got 'yes'"),
        ({"repetiton": 2}, "runner: unknown key 'repetiton' (did you mean 'repetitions'?); valid: "),
    ],
)
def test_runner_settings_are_checked_like_method_parameters(runner, message):
    with pytest.raises(ConfigError) as error:
        RunSettings.from_config(runner, "r", "d", "e")
    assert str(error.value).startswith(message)


def test_runner_settings_complete_and_convert():
    settings = RunSettings.from_config({"k": 5, "memory_limit_gb": 1}, "r", "d", "e")
    assert settings.k == [5] and settings.memory_limit_gb == 1.0 and settings.retry_failed is True


def test_measurement_settings_go_to_the_row_key_and_the_worker_under_one_set_of_names():
    settings = RunSettings.from_config({"min_repetition_s": 0.5, "interleave": False}, "r", "d", "e")
    assert settings.measurement["min_repetition_s"] == 0.5 and settings.measurement["interleave"] is False
    assert set(settings.measurement) <= {f.name for f in fields(WorkerSpec)} & set(RUNNER_PARAMETERS)


def test_runner_settings_fields_are_the_declared_parameters_with_their_defaults():
    names = [f.name for f in fields(RunSettings)][3:]  # after results_dir, datasets_dir, experiment
    assert names == list(RUNNER_PARAMETERS)
    assert not [
        f.name for f in fields(RunSettings) if f.default is not MISSING or f.default_factory is not MISSING
    ]
    settings = RunSettings.from_config({}, "r", "d", "e")
    for name, spec in RUNNER_PARAMETERS.items():
        default = spec[0].default if isinstance(spec, tuple) else spec.default
        assert getattr(settings, name) == ([default] if isinstance(spec, tuple) else default), name


def test_a_negative_method_timeout_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="method 'fake': timeout_s: expected >= 1, got -1"):
        run_sweep(sweep_config(tmp_path, {"fake": {"name": "tests.fakes:FakePlain", "timeout_s": -1}}))


@pytest.mark.parametrize(
    ("selectivities", "message"),
    [([], "selectivities is empty"), (["abc"], "workload.selectivities: expected a list of numbers")],
)
def test_bad_workload_selectivities_are_one_error(selectivities, message):
    from fanns_bench.workloads.workload import WorkloadSpec

    with pytest.raises(ConfigError, match=message):
        WorkloadSpec.from_config(
            {"name": "w", "filters": [{"type": "none", "template": "none"}], "selectivities": selectivities}
        )
