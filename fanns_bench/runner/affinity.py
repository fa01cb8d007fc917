"""Pin a search phase to as many CPUs as it has threads (`runner.pin_cpus`).

Unpinned, the scheduler places a one-thread search on any core and moves it between them;
on a 2-core VM the same fixed kernel then took 9.1-12.7 ms depending on the process, while
pinned to one CPU it took 9.4-9.8 ms in every process (issue 16; pyperf's `--affinity` and
its system-tuning notes give the same advice). So every search phase of a job runs on the
*last* `threads` CPUs the job may use (the first CPU takes most interrupts), every thread of
the job process and every process of its group (a database server's backends) alike, and
the row records which (`search_cpus`). The mask is restored when the phase ends: a build
still uses every core. Off by default (`runner.pin_cpus: false`): on a 2-core VM two quiet
runs pinned were no closer than unpinned and more points came out noisy (a pinned search
cannot leave its CPU when the sweep's memory sampler runs there; README "Methodology").
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager


def search_cpus(threads: int, allowed: Iterable[int] | None = None) -> list[int]:
    """The CPUs a search on `threads` threads is pinned to: the last `threads` of `allowed`
    (default: the CPUs this process may use), all of them when there are fewer."""
    cpus = sorted(os.sched_getaffinity(0) if allowed is None else allowed)
    return cpus[-max(1, int(threads)) :]


def _tasks(pid: int) -> list[int]:
    """Every thread id of process `pid` (its own id when the list cannot be read)."""
    try:
        return [int(tid) for tid in os.listdir(f"/proc/{pid}/task")]
    except OSError:
        return [pid]


def _set(tasks: Iterable[int], cpus: set[int]) -> dict[int, set[int]]:
    """Give each task the mask `cpus`; returns the masks they had (tasks that ended are skipped)."""
    before: dict[int, set[int]] = {}
    for tid in tasks:
        try:
            before[tid] = os.sched_getaffinity(tid)
            os.sched_setaffinity(tid, cpus)
        except OSError:  # ended meanwhile, or not ours to pin
            before.pop(tid, None)
    return before


@contextmanager
def pinned(threads: int, group: Iterable[int] = (), enabled: bool = True) -> Iterator[list[int]]:
    """Within the block, this process's threads and the processes `group` run on
    `search_cpus(threads)`; yields those CPUs ([] when `enabled` is false: nothing pinned)."""
    if not enabled or not hasattr(os, "sched_setaffinity"):
        yield []
        return
    cpus = search_cpus(threads)
    pids = {os.getpid(), *group}
    own = os.sched_getaffinity(0)
    before = _set([tid for pid in pids for tid in _tasks(pid)], set(cpus))
    try:
        yield cpus
    finally:  # threads started inside the block (a pool's workers) get the process's mask back too
        for tid in {*before, *(t for pid in pids for t in _tasks(pid))}:
            try:
                os.sched_setaffinity(tid, before.get(tid, own))
            except OSError:
                pass
