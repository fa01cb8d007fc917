"""Test-only methods that exercise the runner: a correct one, and ones that crash or hang."""

from __future__ import annotations

import hashlib
import os
import signal
import time
from typing import Any

import numpy as np

from fanns_bench.methods.base import FilterBatch
from fanns_bench.methods.exact.method import ExactPrefilter
from fanns_bench.methods.params import Param


class FakeExact(ExactPrefilter):
    """Exact search under another name, with a search parameter that changes nothing."""

    name = "fake_exact"
    search_parameters = {"step": Param(int, 0, "a grid coordinate that changes nothing")}

    def search(self, queries: np.ndarray, filters: Any, k: int, **params: Any) -> np.ndarray:
        return super().search(queries, filters, k)


class FakeSegfault(ExactPrefilter):
    """Dies with SIGSEGV while building."""

    name = "fake_segfault"

    def build(self, dataset: Any) -> None:
        os.kill(os.getpid(), signal.SIGSEGV)


class FakeHang(ExactPrefilter):
    """Never returns from search."""

    name = "fake_hang"

    def search(self, queries: np.ndarray, filters: FilterBatch, k: int, **params: Any) -> np.ndarray:
        time.sleep(3600)
        raise AssertionError("unreachable")


class FakeSearchError(ExactPrefilter):
    """Raises on search when asked to (param `fail`), answers exactly otherwise."""

    name = "fake_search_error"
    search_parameters = {"fail": Param(bool, False, "raise instead of searching")}

    def search(self, queries: np.ndarray, filters: FilterBatch, k: int, **params: Any) -> np.ndarray:
        if params.get("fail"):
            raise RuntimeError("deliberate search failure")
        return super().search(queries, filters, k)


class FakeEqOnly(ExactPrefilter):
    """Declares support for equality and unfiltered queries only."""

    name = "fake_eq_only"
    capabilities = frozenset({"eq", "none"})


class FakeSlow(ExactPrefilter):
    """Exact, but sleeps per batch: gives a test time to kill a sweep mid-way."""

    name = "fake_slow"
    search_parameters = FakeExact.search_parameters

    def search(self, queries: np.ndarray, filters: FilterBatch, k: int, **params: Any) -> np.ndarray:
        time.sleep(0.05)
        return super().search(queries, filters, k)


class FakeMissing(ExactPrefilter):
    """Needs a module that is not installed."""

    name = "fake_missing"
    requires = ("no_such_module_xyz",)
    extra = "nothing"


class FakeHog(ExactPrefilter):
    """Allocates (and touches) memory until something stops it."""

    name = "fake_hog"

    def build(self, dataset: Any) -> None:
        hoard = []
        while True:
            hoard.append(np.ones(64 * 2**20 // 8))  # 64 MiB, written
            time.sleep(0.02)


class FakeUnseeded(ExactPrefilter):
    """Declares an identical build every time, but perturbs its copy of the vectors with an
    unseeded random generator (what a forgotten seed does to a graph)."""

    name = "fake_unseeded"
    deterministic_build = "always"
    seed: int | None = None

    def build(self, dataset: Any) -> None:
        vectors = np.asarray(dataset.vectors, dtype=np.float32)
        noise = np.random.default_rng(self.seed).normal(scale=0.1, size=vectors.shape)
        self._vectors = vectors + noise.astype(np.float32)


class FakeSeeded(FakeUnseeded):
    """The same perturbation from a fixed seed: identical builds."""

    name = "fake_seeded"
    seed = 0


class FakeOneThread(ExactPrefilter):
    """Declares a build deterministic on one thread only (as a parallel graph build)."""

    name = "fake_one_thread"
    threading = "threads"
    deterministic_build = "one_thread"
    nondeterminism = "pretends to insert in thread-scheduling order"


class FakePools(FakeOneThread):
    """`FakeOneThread` noting the thread cap of the process's BLAS and OpenMP pools while it
    builds (`pools`: the distinct `num_threads`), so a test sees what its build ran under."""

    name = "fake_pools"

    def build(self, dataset: Any) -> None:
        from threadpoolctl import threadpool_info

        self.pools = {int(pool["num_threads"]) for pool in threadpool_info()}
        super().build(dataset)


class FakeUnfiltered(ExactPrefilter):
    """Ignores the filter: exact top-k over every item (breaks its filter, says nothing)."""

    name = "fake_unfiltered"

    def search(self, queries: np.ndarray, filters: Any, k: int, **params: Any) -> np.ndarray:
        return super().search(queries, _everything(filters), k)


class FakeApproximate(FakeUnfiltered):
    """The same answers, from a method that declares approximate filtering."""

    name = "fake_approximate"
    approximate_filter = True


class FakeShort(ExactPrefilter):
    """Exact, but gives up after the first two ids of each query; reports several counters."""

    name = "fake_short"

    def search(self, queries: np.ndarray, filters: Any, k: int, **params: Any) -> np.ndarray:
        ids = super().search(queries, filters, k)
        ids[:, 2:] = -1
        return ids

    def stats(self) -> dict[str, float]:
        return {"distance_computations": 7.0, "hops": np.float32(3.5), "visited_nodes": 11}


def _everything(filters: Any) -> Any:
    """The same `IdSets`, every query pointed at 'no filter' (set -1)."""
    from dataclasses import replace

    return replace(filters, rows=np.full_like(filters.rows, -1))


class FakePlain(ExactPrefilter):
    """Exact search under another name (no parameters of its own): the good twin of
    `FakeSegfault` and `FakeBrokenSearch`, whose points have the same keys."""

    name = "fake_plain"


class FakeBrokenSearch(ExactPrefilter):
    """Raises on every search."""

    name = "fake_broken_search"

    def search(self, queries: np.ndarray, filters: FilterBatch, k: int, **params: Any) -> np.ndarray:
        raise RuntimeError("deliberate search failure")


class FakeFloatIds(ExactPrefilter):
    """Answers exactly, but as float ids (every run rejects them)."""

    name = "fake_float_ids"

    def search(self, queries: np.ndarray, filters: FilterBatch, k: int, **params: Any) -> np.ndarray:
        return super().search(queries, filters, k).astype(np.float64)


class FakeOutOfRange(ExactPrefilter):
    """Answers with ids shifted past the dataset's end."""

    name = "fake_out_of_range"

    def build(self, dataset: Any) -> None:
        super().build(dataset)
        self.shift = dataset.count

    def search(self, queries: np.ndarray, filters: FilterBatch, k: int, **params: Any) -> np.ndarray:
        ids = super().search(queries, filters, k)
        return np.where(ids >= 0, ids + self.shift, ids)


class FakeBuildError(ExactPrefilter):
    """Raises while building."""

    name = "fake_build_error"

    def build(self, dataset: Any) -> None:
        raise ValueError("deliberate build failure")


class FakeDrifting(ExactPrefilter):
    """Exact, each search spinning `spin_ms` of CPU (wall time = CPU time, load aside). The
    searches numbered `slow_from`..`slow_to` (1-based, in this process) spin `slow_factor`
    times longer: the machine slowing down for a while. Search number `fail_at` raises.
    With `log`, each search appends its batch's fingerprint (which point) to that file; with
    `times`, its number, start and end of its spin."""

    name = "fake_drifting"
    build_parameters = {
        "spin_ms": Param(float, 10.0, "CPU spin per search", minimum=0),
        "slow_from": Param(int, 0, "first slowed search", minimum=0),
        "slow_to": Param(int, 0, "last slowed search", minimum=0),
        "slow_factor": Param(float, 1.0, "how much longer a slowed search spins", minimum=1),
        "fail_at": Param(int, 0, "the search that raises (0: none)", minimum=0),
        "log": Param(str, "", "file of the searched batches' fingerprints"),
        "times": Param(str, "", "file of each search's start and end (time.time())"),
    }
    calls = 0

    def search(self, queries: np.ndarray, filters: Any, k: int, **params: Any) -> np.ndarray:
        self.calls += 1
        given = self.build_params
        if given["log"]:
            with open(given["log"], "a") as log:
                batch = queries.tobytes() + np.asarray(filters.ids).tobytes()  # the point: queries, filters
                log.write(hashlib.sha256(batch).hexdigest()[:8] + "\n")
        if self.calls == given["fail_at"]:
            raise RuntimeError(f"deliberate failure in search {self.calls}")
        slowed = given["slow_from"] <= self.calls <= given["slow_to"]
        end = time.perf_counter() + given["spin_ms"] / 1e3 * (given["slow_factor"] if slowed else 1.0)
        started = time.time()
        while time.perf_counter() < end:
            pass
        if given["times"]:
            with open(given["times"], "a") as times:
                times.write(f"{self.calls} {started!r} {time.time()!r}\n")
        return super().search(queries, filters, k)


class FakeCounting(ExactPrefilter):
    """Exact, counting the queries it answers; `reverse` returns each answer's ids in reverse
    order (the same set), so a test tells its answers from another route's; 1,000 index bytes."""

    name = "fake_counting"
    build_parameters = {"reverse": Param(bool, False, "answer ids in reverse order")}

    def build(self, dataset: Any) -> None:
        super().build(dataset)
        self.answered = 0

    def search(self, queries: np.ndarray, filters: Any, k: int, **params: Any) -> np.ndarray:
        self.answered += len(queries)
        ids = super().search(queries, filters, k)
        if self.build_params["reverse"]:
            for row in ids:  # the found ids reversed, the -1 padding left at the end
                found = int((row >= 0).sum())
                row[:found] = row[:found][::-1].copy()
        return ids

    def memory_bytes(self) -> int:
        return 1000


class FakeAffinity(ExactPrefilter):
    """Exact; writes the CPUs it may run on while building and while searching to `log`
    (`build {0, 1}` / `search {1}` lines), so a test sees where each phase ran."""

    name = "fake_affinity"
    build_parameters = {"log": Param(str, "", "file of the phases' CPU sets")}

    def build(self, dataset: Any) -> None:
        self._note("build")
        super().build(dataset)

    def search(self, queries: np.ndarray, filters: Any, k: int, **params: Any) -> np.ndarray:
        self._note("search")
        return super().search(queries, filters, k)

    def _note(self, phase: str) -> None:
        with open(self.build_params["log"], "a") as log:
            log.write(f"{phase} {sorted(os.sched_getaffinity(0))}\n")


class FakeBuildLog(ExactPrefilter):
    """Exact; appends `<tag> <pid>` to `log` on every build, so a test sees which process
    built which job, in which order."""

    name = "fake_build_log"
    build_parameters = {
        "log": Param(str, "", "file of the builds"),
        "tag": Param(str, "", "what this job writes"),
    }

    def build(self, dataset: Any) -> None:
        with open(self.build_params["log"], "a") as log:
            log.write(f"{self.build_params['tag']} {os.getpid()}\n")
        super().build(dataset)
