"""A limit on each step of a measurement run in the command's own process (`recommend
--paired`): a build, a contender's calibration, one round of it.

The runner runs every job in a child process it can kill (`runner/isolation.py`); a paired
measurement builds and times its configurations in the command's process, so a method that
hangs there would hang the command with nothing said. The watchdog ends it instead: one line
on stderr naming the step and its limit, exit status `HUNG`, nothing written (the table is
written once every round is in). It is a timer thread, which runs while a method hangs in its
compiled search or build (they release the GIL) or in Python.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

HUNG = 2
"""The command's exit status when a step runs past its limit (the status of its other errors)."""


def _exit(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()
    os._exit(HUNG)  # the main thread is inside the hung method: no clean way back from there


class Watchdog:
    """`step(what)`: a context in which `what` must finish within `limit_s` seconds, else
    `expire` is called (from the timer thread) with the line naming it; by default that line
    goes to stderr and the process exits with `HUNG`."""

    def __init__(self, limit_s: float, expire: Callable[[str], None] = _exit, command: str = "") -> None:
        self.limit_s, self.expire, self.command = limit_s, expire, command

    @contextmanager
    def step(self, what: str) -> Iterator[None]:
        message = (
            f"{self.command}{what}: still running after {self.limit_s:g} s (the limit of one step); "
            "stopped, nothing written"
        )
        timer = threading.Timer(self.limit_s, self.expire, (message,))
        timer.daemon = True
        timer.start()
        try:
            yield
        finally:
            timer.cancel()
