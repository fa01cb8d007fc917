"""Thread counts are enforced, not only recorded: BLAS/OpenMP caps, engine hooks, build threads."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from fanns_bench.methods.exact.method import ExactPrefilter
from fanns_bench.methods.params import Param
from fanns_bench.runner.run import run_sweep
from fanns_bench.runner.threads import capped_threads, query_threads
from tests.sweeps import sweep_config

MATMUL_SIZE = 1200
LOG_PARAMETER = {"out": Param(str, "", "file each search appends a JSON line to")}


class BlasHeavy(ExactPrefilter):
    """Exact search plus one large matrix product per batch; logs its CPU/wall ratio to `out`."""

    name = "blas_heavy"
    search_parameters = LOG_PARAMETER

    def set_query_threads(self, threads: int) -> None:
        super().set_query_threads(threads)
        self.hook_calls = getattr(self, "hook_calls", 0) + 1

    def search(self, queries: np.ndarray, filters: Any, k: int, **params: Any) -> np.ndarray:
        matrix = np.random.default_rng(0).standard_normal((MATMUL_SIZE, MATMUL_SIZE))
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(2):
            matrix = matrix @ matrix
            matrix /= np.abs(matrix).max()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        blas = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
        record = {
            "threads": self.threads,
            "ratio": cpu / wall,
            "blas_threads": blas,
            "hook_calls": getattr(self, "hook_calls", 0),
        }
        with open(params["out"], "a") as log:
            log.write(json.dumps(record) + "\n")
        return super().search(queries, filters, k)


class OneThreadBuild(ExactPrefilter):
    """Builds on one thread whatever it is given (as a deterministic ACORN build does)."""

    name = "one_thread_build"

    def build_threads_used(self) -> int:
        return 1


class FixedPool(ExactPrefilter):
    """An engine whose pool is sized once per process (as Lance's): logs pid and threads."""

    name = "fixed_pool"
    search_parameters = LOG_PARAMETER
    fixed_thread_pool = True

    def build(self, dataset: Any) -> None:
        self.pool = self.threads
        super().build(dataset)

    def search(self, queries: np.ndarray, filters: Any, k: int, **params: Any) -> np.ndarray:
        with open(params["out"], "a") as log:
            log.write(json.dumps({"pid": os.getpid(), "pool": self.pool, "threads": self.threads}) + "\n")
        return super().search(queries, filters, k)


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_capped_threads_limits_every_loaded_pool_and_restores_it():
    before = {(p["internal_api"], p["filepath"]): p["num_threads"] for p in threadpool_info()}
    with capped_threads(1):
        assert all(p["num_threads"] == 1 for p in threadpool_info())
    after = {(p["internal_api"], p["filepath"]): p["num_threads"] for p in threadpool_info()}
    assert after == before


def test_query_threads_calls_the_method_hook_and_caps_the_pools():
    method = BlasHeavy(metric="ip", threads=2)
    with query_threads(method, 1):
        assert method.threads == 1 and method.hook_calls == 1
        assert all(p["num_threads"] == 1 for p in threadpool_info())


def test_a_threads_1_point_searches_on_one_blas_thread_even_when_the_build_had_two(tmp_path):
    log = tmp_path / "ratios.jsonl"
    outcome = run_sweep(
        sweep_config(
            tmp_path,
            {"blas": {"name": "tests.runner.test_threads:BlasHeavy", "search": {"out": [str(log)]}}},
            build_threads=2,
            search_threads=[1, 2],
            repetitions=1,
            latency_queries=0,
            warmup=False,
        )
    )
    rows = outcome.rows
    assert set(rows.status) == {"ok"} and set(rows.threads) == {1, 2}
    assert (rows.build_threads == 2).all()
    records = _records(log)
    one = [r["ratio"] for r in records if r["threads"] == 1]
    two = [r["ratio"] for r in records if r["threads"] == 2]
    print(f"CPU/wall at threads=1: {np.round(one, 2)}; at threads=2: {np.round(two, 2)}")
    assert one and two
    # The pools as the search saw them (exact), and the CPU it used (meaningful on an idle machine).
    assert all(set(r["blas_threads"]) == {r["threads"]} for r in records), records
    assert float(np.median(one)) < 1.3, f"threads=1 searched on more than one core: {one}"
    assert all(r["hook_calls"] >= 1 for r in records)  # set by the runner's hook, per point


def test_build_threads_records_what_the_build_used(tmp_path):
    outcome = run_sweep(
        sweep_config(tmp_path, {"one": {"name": "tests.runner.test_threads:OneThreadBuild"}}, build_threads=2)
    )
    assert set(outcome.rows.status) == {"ok"} and (outcome.rows.build_threads == 1).all()


def test_a_fixed_pool_engine_gets_one_worker_per_thread_count(tmp_path):
    log = tmp_path / "pools.jsonl"
    outcome = run_sweep(
        sweep_config(
            tmp_path,
            {"pool": {"name": "tests.runner.test_threads:FixedPool", "search": {"out": [str(log)]}}},
            build_threads=2,
            search_threads=[1, 2],
            latency_queries=0,
        )
    )
    rows = outcome.rows
    assert set(rows.status) == {"ok"}
    assert (rows.build_threads == rows.threads).all()  # each worker built at its count
    records = _records(log)
    assert all(r["pool"] == r["threads"] for r in records)
    pids = {t: {r["pid"] for r in records if r["threads"] == t} for t in (1, 2)}
    assert len(pids[1]) == len(pids[2]) == 1 and pids[1] != pids[2]


def test_deterministic_acorn_build_reports_one_thread():
    pytest.importorskip("fanns_bench._core")
    from fanns_bench.methods.acorn.method import Acorn1

    assert Acorn1("ip", threads=2, deterministic=True).build_threads_used() == 1
    assert Acorn1("ip", threads=2, deterministic=False).build_threads_used() == 2
