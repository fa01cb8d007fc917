"""Memory of a job's whole process group: sampled by the sweep, phased by the job.

A job's memory is the proportional set size (PSS, `/proc/<pid>/smaps_rollup`) summed over
the job process and every descendant it starts (a method's worker process, a database
server and its backends), found by walking `/proc/<pid>/task/<tid>/children`. PSS splits
each shared page among the processes mapping it, so a server's shared buffers or a file
mapped by two processes of the group count once; a process's RSS would count them in each.
Cleanup helpers started with `REAPER_VARIABLE` in their environment are not the method's
and are left out.

The sweep process samples (`GroupSampler.sample`, every `SAMPLE_SECONDS`, stretched so that
sampling takes at most `MAX_SAMPLING_SHARE` of one core) and keeps a running peak in a
`PhaseMeter`, a small shared-memory block. Never during a timed pass (`PhaseMeter.hushed`):
the kernel reads smaps_rollup by walking the process's page tables under its memory-map lock
(1.1-1.6 ms for one method's job process, 3-6 ms for a router holding 14 indexes), and a
search that maps, unmaps or faults memory meanwhile waits: read without pause, `exact`
answered its batches 3.7x slower in wall time in such a process (README "Methodology").

The job marks phases with `PhaseMeter.sync`: `sync(reset=True)` waits for a fresh sample
and restarts the peak there; `sync()` waits for a fresh sample and returns (peak, current).
A sync wakes the sampler through a pipe (`PhaseMeter.wait`), so it waits for one sample, not
for the rest of a sampling interval (stretched to 10x a sample's cost, 20-50 ms: two syncs a
point made up 30 % of a fast method's job).
Reading VmHWM instead would give each process's own peak, whose sum overstates the group's
peak and misses processes that have exited.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil

from fanns_bench.envs.reaper import REAPER_VARIABLE

SAMPLE_SECONDS = 0.02
MAX_SAMPLING_SHARE = 0.1
SYNC_TIMEOUT_S = 5.0

_REQUEST, _ACK, _RESET, _PEAK, _CURRENT = range(5)
_CHILDREN_FILES = Path(f"/proc/self/task/{os.getpid()}/children").exists()


class PhaseMeter:
    """Shared counters between the sampling sweep and the job (see module docstring)."""

    def __init__(self, context) -> None:
        self._cells = context.RawArray("q", 5)
        self._free = context.Lock()  # held by the sampler while it reads, by the job while it times
        self._asked, self._ask = context.Pipe(duplex=False)  # a sync wakes the sampler

    # --- the job's side -------------------------------------------------------------
    @contextmanager
    def hushed(self) -> Iterator[None]:
        """No sample is taken within the block (a timed pass: module docstring); a sample
        under way when it starts is waited for. Never `sync` inside it (no fresh sample comes)."""
        held = self._free.acquire(timeout=SYNC_TIMEOUT_S)
        try:
            yield
        finally:
            if held:
                self._free.release()

    def sync(self, reset: bool = False) -> tuple[int, int]:
        """Wait for a fresh sample of the group; return (peak since the last reset, current).

        `reset=True` restarts the peak at that sample. Without a sampler (the sweep died),
        returns after `SYNC_TIMEOUT_S` with the last figures.
        """
        cells = self._cells
        cells[_RESET] = int(reset)
        cells[_REQUEST] += 1
        wanted = cells[_REQUEST]
        self.wake()
        deadline = time.monotonic() + SYNC_TIMEOUT_S
        while cells[_ACK] != wanted and time.monotonic() < deadline:
            time.sleep(0.001)
        return int(cells[_PEAK]), int(cells[_CURRENT])

    def wake(self) -> None:
        """End the sampler's `wait` now (one message, drained there; a sync sends one and
        waits for its answer, so they never pile up)."""
        self._ask.send_bytes(b"")

    # --- the sampler's side ---------------------------------------------------------
    def wait(self, timeout: float, *others: object) -> None:
        """Until a sync asks for a sample, one of `others` (waitables, e.g. the job's process
        sentinel) is ready, or `timeout` seconds have passed; the syncs' requests are consumed."""
        multiprocessing.connection.wait([self._asked, *others], timeout)
        while self._asked.poll():
            self._asked.recv_bytes()

    def take(self, sampler: GroupSampler) -> int | None:
        """One sample of the group folded in (`record`), its bytes; None while the job is
        timing (`hushed`): no sample then."""
        if not self._free.acquire(block=False):
            return None
        try:
            total = sampler.sample()
            self.record(total)
            return total
        finally:
            self._free.release()

    def record(self, total: int) -> None:
        """Fold one sample of the group's memory into the peak; answer a pending sync."""
        cells = self._cells
        request = cells[_REQUEST]
        if request != cells[_ACK] and cells[_RESET]:
            cells[_PEAK] = total
        else:
            cells[_PEAK] = max(cells[_PEAK], total)
        cells[_CURRENT] = total
        cells[_ACK] = request


class GroupSampler:
    """PSS of a process and its descendants (reapers excluded), read from /proc."""

    def __init__(self, root_pid: int) -> None:
        self.root_pid = root_pid
        self.interval = SAMPLE_SECONDS
        self._reapers: dict[int, bool] = {}

    def members(self) -> list[int]:
        """The root and every descendant alive now."""
        found, stack = [], [self.root_pid]
        while stack:
            pid = stack.pop()
            found.append(pid)
            stack.extend(_children(pid))
        return found

    def processes(self) -> list[int]:
        """The members that are the method's: the root and its descendants, reapers left out."""
        return [pid for pid in self.members() if pid == self.root_pid or not self._is_reaper(pid)]

    def sample(self) -> int:
        """Bytes the group holds now; adapts `interval` to what reading it costs."""
        started = time.perf_counter()
        total = sum(process_pss(pid) for pid in self.processes())
        cost = time.perf_counter() - started
        self.interval = max(SAMPLE_SECONDS, cost / MAX_SAMPLING_SHARE)
        return total

    def _is_reaper(self, pid: int) -> bool:
        if pid not in self._reapers:
            try:
                self._reapers[pid] = REAPER_VARIABLE in psutil.Process(pid).environ()
            except (psutil.Error, OSError):
                self._reapers[pid] = False
        return self._reapers[pid]


def process_pss(pid: int) -> int:
    """PSS of one process in bytes (its RSS where smaps_rollup is unreadable; 0 if gone)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    try:
        with open(f"/proc/{pid}/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _children(pid: int) -> list[int]:
    """Direct children of `pid`: every thread's `children` file (psutil where the kernel lacks it)."""
    if not _CHILDREN_FILES:
        return _children_psutil(pid)
    children: list[int] = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return []
    for task in tasks:
        try:
            children.extend(int(c) for c in (task / "children").read_text().split())
        except OSError:  # the thread ended meanwhile
            continue
    return children


def _children_psutil(pid: int) -> list[int]:
    try:
        return [c.pid for c in psutil.Process(pid).children()]
    except psutil.Error:
        return []


@contextmanager
def in_process_meter() -> Iterator[PhaseMeter]:
    """A meter sampled by a thread of this process (when no sweep samples the job)."""
    meter = PhaseMeter(multiprocessing.get_context("spawn"))
    sampler = GroupSampler(os.getpid())
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            meter.take(sampler)
            meter.wait(sampler.interval)

    thread = threading.Thread(target=loop, name="fanns-memory", daemon=True)
    thread.start()
    try:
        yield meter
    finally:
        stop.set()
        meter.wake()
        thread.join()
