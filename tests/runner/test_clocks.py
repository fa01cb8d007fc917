"""The CPU clock of a job's process group: a child's CPU time counts, alive or reaped."""

import subprocess
import sys
import time

from fanns_bench.runner.clocks import GroupClock

# burns 0.3 s of its own CPU, says so, then waits for stdin to close
BURN = (
    "import sys, time\nwhile time.process_time() < 0.3: pass\nprint('done', flush=True)\nsys.stdin.read()\n"
)


def _burning_child() -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", BURN], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )


def test_cpu_time_of_a_live_child_counts():
    clock = GroupClock()
    before = clock.read()
    own = time.process_time()
    child = _burning_child()
    try:
        assert child.stdout.readline().strip() == "done"
        spent = clock.read() - before
        assert time.process_time() - own < 0.2  # this process mostly waited
        assert spent.cpu_seconds >= 0.28  # the child's 0.3 s (read in 10 ms ticks)
    finally:
        child.stdin.close()
        child.wait()


def test_cpu_time_of_a_child_that_exited_meanwhile_counts_once():
    clock = GroupClock()
    child = _burning_child()
    assert child.stdout.readline().strip() == "done"
    before = clock.read()  # the child's 0.3 s are already in this reading
    child.stdin.close()
    child.wait()  # reaped: its time moves to this process's children counters
    spent = clock.read() - before
    assert -0.05 < spent.cpu_seconds < 0.15


def test_reading_has_load_and_switch_counters():
    reading = GroupClock().read()
    assert reading.load_avg >= 0 and reading.involuntary_switches >= 0 and reading.cpu_seconds > 0
