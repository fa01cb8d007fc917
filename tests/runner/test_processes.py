"""A job's points measured in several fresh processes (`runner.processes`, `handover.py`)."""

import pytest

from fanns_bench.errors import ConfigError
from fanns_bench.runner import run as run_module
from fanns_bench.runner.handover import FOLDER, handover_path, share, write_handover
from fanns_bench.runner.noise import process_rates, process_reasons
from fanns_bench.runner.plan import Point
from fanns_bench.runner.run import _for_process, run_sweep
from fanns_bench.runner.run_summary import print_summary
from fanns_bench.runner.settings import RunSettings
from tests.sweeps import sweep_config

EXACT = {"fake": {"name": "tests.fakes:FakeExact"}}


def _logged(log, *tags):
    return {t: {"name": "tests.fakes:FakeBuildLog", "build": {"log": [str(log)], "tag": [t]}} for t in tags}


def test_each_process_builds_afresh_and_the_jobs_alternate(tmp_path):
    log = tmp_path / "builds.txt"
    outcome = run_sweep(sweep_config(tmp_path, _logged(log, "a", "b"), repetitions=4, processes=2))
    builds = [line.split() for line in log.read_text().splitlines()]
    assert [tag for tag, _ in builds] == ["a", "b", "a", "b"]  # spread over the sweep, not a a b b
    assert len({pid for _, pid in builds}) == 4  # every process a fresh one
    assert outcome.executed_jobs == 4 and set(outcome.rows.status) == {"ok"}


def test_the_row_combines_every_process_and_no_handover_is_left(tmp_path):
    once = run_sweep(sweep_config(tmp_path / "once", EXACT, repetitions=4)).rows
    rows = run_sweep(sweep_config(tmp_path / "two", EXACT, repetitions=4, processes=2)).rows
    assert set(once.processes) == {1} and set(rows.processes) == {2}
    assert all(
        len(s) == 4 for s in rows.batch_seconds
    )  # 2 + 2: fails if the last process ignored its handover
    assert all(len(s) == 4 for s in rows.search_seconds) and all(len(c) == 4 for c in rows.cpu_seconds)
    assert all(len(q) == 2 for q in rows.qps_processes)
    assert not set(rows.key) & set(once.key)  # a measurement of its own
    assert not any((tmp_path / "two" / "results" / FOLDER).glob("*.json"))
    point = ["filter_type", "selectivity_bucket", "search_params"]
    ids = [r.set_index(point).ids.map(tuple).sort_index() for r in (once, rows)]
    assert ids[0].equals(ids[1])  # the answers are the last process's: exact search, the same


def test_an_interrupted_sweep_resumes_from_the_handovers(tmp_path, monkeypatch):
    config = sweep_config(tmp_path, EXACT, repetitions=3, processes=2)
    real = run_module._run_job

    def stop_in_the_second_process(*args, **kwargs):
        if kwargs.get("process", args[7] if len(args) > 7 else 0) == 1:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(run_module, "_run_job", stop_in_the_second_process)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(config)
    assert len(list((tmp_path / "results" / FOLDER).glob("*.0.json"))) == 4  # the first process's
    monkeypatch.setattr(run_module, "_run_job", real)
    outcome = run_sweep(config)
    assert outcome.executed_jobs == 1  # only the second process ran
    assert set(outcome.rows.processes) == {2} and all(len(s) == 3 for s in outcome.rows.batch_seconds)


def test_a_run_stopped_after_a_process_leaves_the_rest_to_the_next(tmp_path, capsys):
    log = tmp_path / "builds.txt"
    config = sweep_config(tmp_path, _logged(log, "a"), repetitions=3, processes=3, stop_after_process=1)
    first = run_sweep(config)
    print_summary(first)
    printed = capsys.readouterr().out
    assert "(0 points" in printed and first.waiting in printed and "combined Parquet" not in printed
    assert first.rows.empty and first.executed_jobs == 1  # no row yet: 2 processes to go
    waiting = len(list((tmp_path / "results" / FOLDER).glob("*.0.json")))
    assert (
        waiting == 4
        and f"stopped after process 1 of 3 (runner.stop_after_process): {waiting} points" in first.waiting
    )
    config["runner"]["stop_after_process"] = 2
    second = run_sweep(config)
    assert second.rows.empty and second.executed_jobs == 1 and "process 2 of 3" in second.waiting
    del config["runner"]["stop_after_process"]
    last = run_sweep(config)
    assert last.executed_jobs == 1 and not last.waiting  # only the third process ran
    assert set(last.rows.processes) == {3} and all(len(s) == 3 for s in last.rows.batch_seconds)
    assert all(len(q) == 3 for q in last.rows.qps_processes)
    assert len(log.read_text().splitlines()) == 3  # one build a process, no process run twice
    assert not any((tmp_path / "results" / FOLDER).glob("*.json"))


def test_stopping_after_a_process_beyond_the_last_is_refused(tmp_path):
    with pytest.raises(
        ConfigError, match=r"runner.stop_after_process: expected at most runner.processes \(2\), got 3"
    ):
        RunSettings.from_config(
            {"repetitions": 4, "processes": 2, "stop_after_process": 3}, str(tmp_path), str(tmp_path), "x"
        )


def test_which_points_a_process_measures(tmp_path):
    settings = RunSettings.from_config({"repetitions": 3, "processes": 3}, str(tmp_path), str(tmp_path), "x")
    points = [Point({}, 1, "EM", 0.1, 10, key) for key in ("a", "b", "c")]
    write_handover(tmp_path, "a", 0, {})  # a: first process done; b: also the second; c: nothing
    write_handover(tmp_path, "b", 0, {})
    write_handover(tmp_path, "b", 1, {})
    keys = [[p.key for p in _for_process(settings, points, n)] for n in range(3)]
    assert keys == [["c"], ["a"], ["b"]]
    assert handover_path(tmp_path, "a", 0).is_file()


def test_more_processes_than_repetitions_is_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"runner.processes: expected at most runner.repetitions \(2\)"):
        RunSettings.from_config({"repetitions": 2, "processes": 3}, str(tmp_path), str(tmp_path), "x")


def test_repetitions_are_shared_out_evenly():
    assert [share(5, 3, n) for n in range(3)] == [2, 2, 1]
    assert [share(3, 3, n) for n in range(3)] == [1, 1, 1]


def test_processes_that_disagree_flag_the_point():
    rates = process_rates(100, [0.010, 0.010, 0.013, 0.013], [2, 2])
    assert rates == pytest.approx([10_000, 7_692.31], rel=1e-4)
    assert process_reasons(rates) == ["QPS std 18% of the mean across the job's 2 processes (>= 10%)"]
    assert process_reasons(process_rates(100, [0.010, 0.0115], [1, 1])) == []  # 9.3 %: within
    assert process_reasons([5_000.0]) == []
