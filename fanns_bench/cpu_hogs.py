"""Bounded local CPU hogs: background load for the stability benchmark (`make bench-stability
ARGS="--hogs 2"`), to show what load does to wall QPS, CPU-time QPS and the noisy flags.

Each hog is a local process running a pure-Python busy loop. It ends by itself after its hard
time limit, or as soon as the process that started it is gone (no orphan outlives a killed
benchmark); `cpu_hogs` stops every hog when its block ends, by exception, Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

CHECK_EVERY = 200_000
"""Loop iterations between two checks of the deadline and of the parent process."""

STOP_WAIT_S = 5.0
"""How long a stopped hog may take to exit before it is killed."""


def spin(limit_s: float, parent: int) -> None:
    """Busy-loop until `limit_s` seconds have passed or process `parent` is gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    deadline = time.monotonic() + limit_s
    counter = 0
    while time.monotonic() < deadline and os.getppid() == parent:
        for _ in range(CHECK_EVERY):
            counter += 1


def _raise_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


@contextmanager
def cpu_hogs(count: int, limit_s: float) -> Iterator[list[multiprocessing.Process]]:
    """Run `count` hogs (each stopping by itself after `limit_s` seconds) for the block; yields
    the processes. SIGTERM inside the block (main thread) raises SystemExit so they are stopped."""
    if count < 0 or limit_s <= 0:
        raise ValueError(f"cpu_hogs: count {count} must be >= 0 and limit_s {limit_s} > 0")
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no inherited threads
    hogs = [
        context.Process(target=spin, args=(limit_s, os.getpid()), name=f"cpu-hog-{i}", daemon=True)
        for i in range(count)
    ]
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _raise_on_sigterm) if in_main else None
    try:
        for hog in hogs:
            hog.start()
        yield hogs
    finally:
        stop(hogs)
        if in_main:
            signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


def stop(hogs: list[multiprocessing.Process]) -> None:
    """Terminate every started hog and wait for it (kill it if it does not exit in time)."""
    started = [hog for hog in hogs if hog.pid is not None]
    for hog in started:
        hog.terminate()
    for hog in started:
        hog.join(STOP_WAIT_S)
        if hog.is_alive():
            hog.kill()
            hog.join()
