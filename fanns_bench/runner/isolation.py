"""Run a build job in a child process, with a wall-clock timeout and a memory cap.

A segfault, hang or runaway allocation in a method ends its own child only; the
parent reports why, and the sweep goes on.

The child leads its own session and process group; what it starts (a method's worker
process, a database server) stays in that group, or at least below it in the process
tree. The parent samples the memory of that whole group (`memory.py`) for the job's
memory columns and for the cap, and a timeout, an exceeded cap or a crash takes the whole
group down, servers included.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import signal
import time
from collections.abc import Callable
from contextlib import contextmanager

import psutil

from fanns_bench.envs.reaper import REAPER_VARIABLE
from fanns_bench.runner.job import WorkerSpec, job_main
from fanns_bench.runner.memory import GroupSampler, PhaseMeter

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
KILL_WAIT_S = 5


@contextmanager
def _thread_environment(threads: int):
    """Initial thread counts of the child's BLAS/OpenMP (spawn copies os.environ); the job
    then caps every pool per phase (`threads.py`)."""
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


def run_isolated(
    spec: WorkerSpec,
    timeout_s: float,
    memory_limit_bytes: int | None,
    tick: Callable[[], None] | None = None,
) -> str | None:
    """Run `spec` in a child; `None` when it exited cleanly, else the reason it did not.
    `tick`: called while waiting (progress).

    A method whose engine sizes its thread pool once per process (`fixed_thread_pool`)
    gets one child per query thread count, each building its own index.
    """
    reasons = [
        reason
        for part in _split_by_pool(spec)
        if (reason := _run_child(part, timeout_s, memory_limit_bytes, tick))
    ]
    return "; ".join(dict.fromkeys(reasons)) or None


def _split_by_pool(spec: WorkerSpec) -> list[WorkerSpec]:
    fixed = spec.job.method.fixed_thread_pool
    counts = sorted({p.threads for p in spec.points})
    if not fixed or len(counts) <= 1:
        return [spec]
    return [
        dataclasses.replace(
            spec,
            points=[p for p in spec.points if p.threads == t],
            error_file=spec.error_file.with_name(f"{spec.error_file.stem}-t{t}{spec.error_file.suffix}"),
        )
        for t in counts
    ]


def _run_child(
    spec: WorkerSpec, timeout_s: float, memory_limit_bytes: int | None, tick: Callable[[], None] | None
) -> str | None:
    context = multiprocessing.get_context("spawn")
    spec = dataclasses.replace(spec, meter=PhaseMeter(context))
    born = time.time()
    with _thread_environment(spec.build_threads):
        child = context.Process(target=job_main, args=(spec,), name=f"fanns-{spec.job.label}")
        child.start()
    sampler = GroupSampler(child.pid)
    started = time.monotonic()
    reason, total = None, 0
    try:
        while child.is_alive():
            taken = spec.meter.take(sampler)  # None while the job times: keep the last sample
            total = total if taken is None else taken
            if memory_limit_bytes and total > memory_limit_bytes:
                reason = (
                    f"killed: resident memory {total / 2**30:.2f} GiB exceeded the cap of "
                    f"{memory_limit_bytes / 2**30:.2f} GiB (PSS of all the job's processes)"
                )
                break
            if time.monotonic() - started > timeout_s:
                reason = f"timed out after {timeout_s:g} s (build + search of this job)"
                break
            if tick:
                tick()
            spec.meter.wait(sampler.interval, child.sentinel)  # a sync or the child's exit ends it
    finally:
        if child.is_alive():  # also before it made its own session
            child.kill()
        kill_group(child.pid, born)
        child.join(KILL_WAIT_S)
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


def group_processes(leader: int, born: float = 0.0) -> list[psutil.Process]:
    """Every process of the job led by `leader` (started at `born`, epoch seconds): its
    session, which outlives the leader (a server it started is re-parented when it dies),
    and all their descendants. Cleanup helpers (`REAPER_VARIABLE` set) are left out: they
    must outlive the job. Processes older than `born` are never members (a reused pid)."""
    roots = []
    for process in psutil.process_iter():
        try:
            if os.getsid(process.pid) == leader and process.create_time() >= born - 1.0:
                roots.append(process)
        except (psutil.Error, OSError):
            continue
    members: dict[int, psutil.Process] = {}
    for root in roots:
        try:
            for process in [root, *root.children(recursive=True)]:
                members.setdefault(process.pid, process)
        except psutil.Error:
            continue
    return [p for p in members.values() if not _is_reaper(p)]


def kill_group(leader: int, born: float = 0.0) -> None:
    """SIGKILL the job led by `leader` with everything it started (see `group_processes`)."""
    members = group_processes(leader, born)
    for process in members:
        try:
            process.kill()
        except psutil.Error:
            continue
    psutil.wait_procs(members, timeout=KILL_WAIT_S)


def _is_reaper(process: psutil.Process) -> bool:
    try:
        return REAPER_VARIABLE in process.environ()
    except (psutil.Error, OSError):
        return False
