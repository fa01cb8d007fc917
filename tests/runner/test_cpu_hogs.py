"""The stability benchmark's CPU hogs: started, stopped on every way out, never left behind.
Nothing here is timed; waits are generous upper bounds for a loaded machine."""

from __future__ import annotations

import signal
import subprocess
import sys

import psutil
import pytest

from fanns_bench.cpu_hogs import cpu_hogs

GONE_WITHIN_S = 60


def running(pid: int) -> bool:
    """Whether `pid` is a live process (a zombie not yet reaped counts as gone)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def gone(pids: list[int]) -> bool:
    _, alive = psutil.wait_procs([p for p in map(_process, pids) if p], timeout=GONE_WITHIN_S)
    return not [p for p in alive if running(p.pid)]


def _process(pid: int) -> psutil.Process | None:
    try:
        return psutil.Process(pid)
    except psutil.NoSuchProcess:
        return None


def test_hogs_run_inside_the_block_and_are_stopped_after_it():
    with cpu_hogs(2, limit_s=600) as hogs:
        pids = [hog.pid for hog in hogs]
        assert len(set(pids)) == 2 and all(running(pid) for pid in pids)
    assert not any(hog.is_alive() for hog in hogs)
    assert not any(running(pid) for pid in pids)


def test_an_exception_in_the_block_still_stops_the_hogs():
    with pytest.raises(RuntimeError), cpu_hogs(1, limit_s=600) as hogs:
        pids = [hog.pid for hog in hogs]
        raise RuntimeError("the run failed")
    assert not any(running(pid) for pid in pids)


def test_a_hog_ends_by_itself_at_its_hard_limit():
    with cpu_hogs(1, limit_s=0.2) as hogs:
        hogs[0].join(GONE_WITHIN_S)
        assert hogs[0].exitcode == 0  # returned from its loop, not terminated


def test_bad_counts_and_limits_are_refused():
    with pytest.raises(ValueError, match="count -1"), cpu_hogs(-1, limit_s=10):
        pass
    with pytest.raises(ValueError, match="limit_s 0"), cpu_hogs(1, limit_s=0):
        pass


# A child inherits an ignored SIGINT (exec keeps SIG_IGN), and Python then installs no Ctrl-C
# handler: in the full suite something before this file leaves SIGINT ignored in pytest's
# process, so the holder sets Ctrl-C's default, as an interactive shell gives it.
HOLDER = """
import signal, sys, time
signal.signal(signal.SIGINT, signal.default_int_handler)
from fanns_bench.cpu_hogs import cpu_hogs
with cpu_hogs(2, limit_s=600) as hogs:
    print(" ".join(str(h.pid) for h in hogs), flush=True)
    time.sleep(600)
"""


def start_holder() -> tuple[subprocess.Popen, list[int]]:
    """A process holding two hogs; returns it and the hogs' pids."""
    holder = subprocess.Popen([sys.executable, "-c", HOLDER], stdout=subprocess.PIPE, text=True)
    pids = [int(pid) for pid in holder.stdout.readline().split()]
    assert len(pids) == 2 and all(running(pid) for pid in pids)
    return holder, pids


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_or_ctrl_c_stops_the_hogs(how):
    holder, pids = start_holder()
    try:
        holder.send_signal(how)
        holder.wait(GONE_WITHIN_S)
        assert gone(pids)
    finally:
        holder.kill()


def test_hogs_of_a_killed_holder_exit_instead_of_running_on_as_orphans():
    holder, pids = start_holder()
    holder.kill()  # SIGKILL: no finally block runs
    holder.wait(GONE_WITHIN_S)
    assert gone(pids)
