"""One run at a time writes a results folder: a second run into it exits with a message
naming the holder (or, with `wait`, waits for it), so two runs never time each other's
load or both do the same work."""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from fanns_bench.errors import ResultsError

LOCK_FILE = ".lock"
HOLDER_FILE = ".lock.holder"  # who holds the lock (JSON), for the message a second run gets
log = logging.getLogger(__name__)


@contextmanager
def results_lock(results_dir: Path, wait: bool = False) -> Iterator[None]:
    """Hold the lock of `results_dir` (created if missing) for the block.

    Without `wait`, a folder another run holds is a `ResultsError` naming it (pid, host,
    start time); a results path that is a file is one too."""
    results_dir = Path(results_dir)
    if results_dir.exists() and not results_dir.is_dir():
        raise ResultsError(
            f"results path {results_dir} is a file, not a folder; set paths.results to a folder"
        )
    results_dir.mkdir(parents=True, exist_ok=True)
    (results_dir / LOCK_FILE).touch()  # a read-only folder is an OSError here, not "in use"
    lock = FileLock(results_dir / LOCK_FILE)
    holder = results_dir / HOLDER_FILE
    try:
        lock.acquire(timeout=0)
    except Timeout:
        if not wait:
            raise ResultsError(
                f"results folder {results_dir} is in use by {_holder(holder)}; wait for that run to "
                "end, or rerun with --wait (runner.wait=true) to start when it does"
            ) from None
        log.info("results folder %s is in use by %s; waiting for it", results_dir, _holder(holder))
        lock.acquire()
    try:
        holder.write_text(
            json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": time.strftime("%F %T")})
        )
        yield
    finally:
        holder.unlink(missing_ok=True)
        lock.release()


def _holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text())
        return f"pid {info['pid']} on {info['host']} (since {info['since']})"
    except (OSError, ValueError, KeyError):
        return "another run"
