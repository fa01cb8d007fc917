"""Search phases pinned to their threads' CPUs (runner/affinity.py, `runner.pin_cpus`)."""

import os
import threading

import pytest

from fanns_bench.runner.affinity import pinned, search_cpus
from fanns_bench.runner.run import run_sweep
from tests.sweeps import sweep_config

ALLOWED = sorted(os.sched_getaffinity(0))
needs_two = pytest.mark.skipif(len(ALLOWED) < 2, reason="pinning is only visible with 2 or more CPUs")


def test_search_cpus_are_the_last_ones_allowed():
    assert search_cpus(1, {0, 1, 2, 3}) == [3]
    assert search_cpus(2, {0, 1, 2, 3}) == [2, 3]
    assert search_cpus(2, {5, 1}) == [1, 5]
    assert search_cpus(8, {0, 1}) == [0, 1]  # more threads than CPUs: every CPU
    assert search_cpus(0, {0, 1}) == [1]


@needs_two
def test_pinned_moves_every_thread_and_gives_the_mask_back_to_threads_started_inside():
    started, stop = threading.Event(), threading.Event()
    tid: list[int] = []

    def worker() -> None:
        tid.append(threading.get_native_id())
        started.set()
        stop.wait()

    with pinned(1) as cpus:
        assert cpus == [ALLOWED[-1]]
        assert os.sched_getaffinity(0) == {ALLOWED[-1]}
        thread = threading.Thread(target=worker)
        thread.start()
        started.wait()
        assert os.sched_getaffinity(tid[0]) == {ALLOWED[-1]}  # inherited inside the block
    try:
        assert os.sched_getaffinity(0) == set(ALLOWED)
        assert os.sched_getaffinity(tid[0]) == set(ALLOWED)  # a pool's worker is not left pinned
    finally:
        stop.set()
        thread.join()


def test_pinned_disabled_changes_nothing():
    with pinned(1, enabled=False) as cpus:
        assert cpus == []
        assert os.sched_getaffinity(0) == set(ALLOWED)


@needs_two
@pytest.mark.parametrize("pin", [True, False])
def test_a_sweep_builds_on_every_cpu_and_searches_on_the_pinned_one(tmp_path, pin):
    log = tmp_path / "phases.log"
    methods = {"affinity": {"name": "tests.fakes:FakeAffinity", "build": {"log": str(log)}}}
    rows = run_sweep(sweep_config(tmp_path, methods, repetitions=2, latency_queries=2, pin_cpus=pin)).rows
    phases = log.read_text().splitlines()
    assert phases[0] == f"build {ALLOWED}"
    searched = {line for line in phases if line.startswith("search")}
    assert searched == {f"search {[ALLOWED[-1]] if pin else ALLOWED}"}
    assert set(rows.status) == {"ok"}
    if pin:
        assert set(rows.search_cpus) == {str(ALLOWED[-1])}
    else:
        assert rows.search_cpus.isna().all()
