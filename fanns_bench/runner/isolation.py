"""Run a build job in a child process, with a wall-clock timeout and a memory cap.

A segfault, hang or runaway allocation in a method ends its own child only; the
parent reports why, and the sweep goes on.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from contextlib import contextmanager

import psutil

from fanns_bench.runner.job import WorkerSpec, job_main

POLL_SECONDS = 0.1
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@contextmanager
def _thread_environment(threads: int):
    """Thread caps the child's BLAS/OpenMP read at start-up (spawn copies os.environ)."""
    saved = {v: os.environ.get(v) for v in THREAD_VARIABLES}
    os.environ.update({v: str(threads) for v in THREAD_VARIABLES})
    try:
        yield
    finally:
        for variable, value in saved.items():
            if value is None:
                os.environ.pop(variable, None)
            else:
                os.environ[variable] = value


def run_isolated(spec: WorkerSpec, timeout_s: float, memory_limit_bytes: int | None) -> str | None:
    """Run `spec` in a child; `None` when it exited cleanly, else the reason it did not."""
    context = multiprocessing.get_context("spawn")
    max_threads = max([spec.build_threads] + [p.threads for p in spec.points])
    with _thread_environment(max_threads):
        child = context.Process(target=job_main, args=(spec,), name=f"fanns-{spec.job.label}")
        child.start()
    started = time.monotonic()
    reason = None
    try:
        while child.is_alive():
            child.join(POLL_SECONDS)
            if time.monotonic() - started > timeout_s:
                reason = f"timed out after {timeout_s:g} s (build + search of this job)"
                break
            rss = _tree_rss(child.pid)
            if memory_limit_bytes and rss > memory_limit_bytes:
                reason = (
                    f"killed: resident memory {rss / 2**30:.2f} GiB exceeded the cap of "
                    f"{memory_limit_bytes / 2**30:.2f} GiB"
                )
                break
    finally:
        if child.is_alive():
            _kill_tree(child.pid)
            child.join(5)
    if reason:
        return reason
    if child.exitcode == 0:
        return None
    return _exit_reason(child.exitcode, spec)


def _exit_reason(exitcode: int, spec: WorkerSpec) -> str:
    if exitcode < 0:
        name = signal.Signals(-exitcode).name
        return f"crashed: worker killed by {name}" + (" (out of memory?)" if name == "SIGKILL" else "")
    if spec.error_file.is_file():
        first = spec.error_file.read_text().splitlines()[0] if spec.error_file.stat().st_size else ""
        return f"worker failed: {first}"
    return f"worker exited with status {exitcode}"


def _tree_rss(pid: int) -> int:
    try:
        process = psutil.Process(pid)
        members = [process, *process.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for member in members:
        try:
            total += member.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total


def _kill_tree(pid: int) -> None:
    try:
        process = psutil.Process(pid)
        members = [*process.children(recursive=True), process]
    except psutil.NoSuchProcess:
        return
    for member in members:
        try:
            member.kill()
        except psutil.NoSuchProcess:
            continue
    psutil.wait_procs(members, timeout=5)
