"""The second clock of a measurement: CPU time of the job's whole process group.

Wall time counts every moment the search waited for a core another process held; CPU time
counts only the time the search ran, so it stays put when background load comes and goes.
The group is the job process and every descendant that is the method's (a method's worker
processes, a database server and its backends), enumerated by `memory.GroupSampler`.

A `Reading` sums, over the group:
- the job process's own CPU time (`time.process_time`: every thread, nanosecond clock) and
  that of its exited, reaped children (`getrusage(RUSAGE_CHILDREN)`);
- each descendant's user + system time, including its own reaped children (psutil,
  `/proc/<pid>/stat`, counted in clock ticks: 10 ms on Linux);
- involuntary context switches: the job process's from `getrusage(RUSAGE_SELF)` (all its
  threads), each descendant's from psutil (`/proc/<pid>/status`, its main thread);
- the 1-minute load average of the machine.

Run in-process (no sweep: `job.run_job` without a meter), the memory-sampling thread's few
percent of a core count too.

The difference of two readings is the group's CPU time between them: a child that exits in
between and is reaped by a group member moves its whole CPU time into the parent's children
counters, and its own earlier reading is subtracted, which leaves its time in the interval.
"""

from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass

import psutil

from fanns_bench.runner.memory import GroupSampler


@dataclass(frozen=True)
class Reading:
    """Cumulative counters of the group at one moment (see module docstring)."""

    cpu_seconds: float
    involuntary_switches: int
    load_avg: float

    def __sub__(self, earlier: Reading) -> Reading:
        """The counters between `earlier` and this reading; the load is this reading's."""
        return Reading(
            self.cpu_seconds - earlier.cpu_seconds,
            self.involuntary_switches - earlier.involuntary_switches,
            self.load_avg,
        )


class GroupClock:
    """Reads the CPU time, involuntary switches and load of this process and its group."""

    def __init__(self) -> None:
        self._group = GroupSampler(os.getpid())
        self._processes: dict[int, psutil.Process] = {}

    def read(self) -> Reading:
        """The group's counters now (the job process's own read last, closest to what follows)."""
        cpu, switches = self._descendants()
        own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu += children.ru_utime + children.ru_stime + time.process_time()
        switches += own.ru_nivcsw + children.ru_nivcsw
        return Reading(cpu, switches, os.getloadavg()[0])

    def group(self) -> list[int]:
        """The pids of the job process's group now (itself included)."""
        return self._group.processes()

    def _descendants(self) -> tuple[float, int]:
        cpu, switches = 0.0, 0
        root = self._group.root_pid
        alive = [pid for pid in self._group.processes() if pid != root]
        for pid in alive:
            try:
                process = self._process(pid)
                with process.oneshot():
                    times = process.cpu_times()
                    cpu += times.user + times.system + times.children_user + times.children_system
                    switches += process.num_ctx_switches().involuntary
            except psutil.Error:  # it ended meanwhile: its parent's children counters hold it
                continue
        self._processes = {pid: p for pid, p in self._processes.items() if pid in alive}
        return cpu, switches

    def _process(self, pid: int) -> psutil.Process:
        if pid not in self._processes:
            self._processes[pid] = psutil.Process(pid)
        return self._processes[pid]
