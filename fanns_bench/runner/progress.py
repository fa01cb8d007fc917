"""Progress a person can follow: points done / total with an estimate, for the run and for
the job running now (tqdm bars on a terminal; log lines when stderr is not one)."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterable, Iterator

from tqdm import tqdm

log = logging.getLogger("fanns_bench.progress")
POLL_SECONDS = 0.5  # how often a drawn job bar lists the results folder (beside the timed search)


def interactive() -> bool:
    """Whether bars are drawn: stderr is a terminal."""
    return sys.stderr.isatty()


def duration(seconds: float) -> str:
    """`42 s`, `3.5 min`, `1.2 h`."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


def steps(what: str, names: list[str], bars: bool | None = None) -> Iterator[str]:
    """`names` one by one with a bar (`what`: its label) on a terminal, else a log line
    before each (`plot: 2/4 recall vs QPS`)."""
    bars = interactive() if bars is None else bars
    with tqdm(total=len(names), desc=what, unit="step", disable=not bars) as bar:
        for number, name in enumerate(names, 1):
            bar.set_postfix_str(name)
            if not bars:
                log.info("%s: %d/%d %s", what, number, len(names), name)
            yield name
            bar.update()


class SweepProgress:
    """Points of a run: `job` opens a bar for one job's points; `finished` counts them."""

    def __init__(self, total: int, bars: bool | None = None) -> None:
        self.total, self.done = total, 0
        self.bars = interactive() if bars is None else bars
        self.started = time.monotonic()
        self.bar = tqdm(total=total, desc="run", unit="point", disable=not self.bars, position=0)

    def remaining(self) -> str:
        """`about X left` from the run's rate so far (`?` before the first point)."""
        if not self.done:
            return "time left unknown"
        rate = (time.monotonic() - self.started) / self.done
        return f"about {duration(rate * (self.total - self.done))} left"

    def job(self, label: str, total: int) -> JobProgress:
        return JobProgress(self, label, total)

    def finished(self, points: int) -> None:
        """`points` more of the run are done (measured, failed or unsupported)."""
        self.done += points
        self.bar.update(points)
        if not self.bars and points:
            log.info("run: %d/%d points done, %s", self.done, self.total, self.remaining())

    def close(self) -> None:
        self.bar.close()


class JobProgress:
    """One job's bar, advanced by polling which of its points have a result written."""

    def __init__(self, sweep: SweepProgress, label: str, total: int) -> None:
        self.sweep, self.total, self.seen = sweep, total, 0
        self.written: Callable[[], Iterable[object]] | None = None
        self.step: Callable[[], str | None] | None = None
        self.bar = tqdm(
            total=total, desc=label[:40], unit="point", disable=not sweep.bars, position=1, leave=False
        )

    def poll(
        self, written: Callable[[], Iterable[object]], step: Callable[[], str | None] | None = None
    ) -> Callable[[], None]:
        """A tick for the job's wait loop (called every few ms): `written()` lists what is
        done so far; `step()` (drawn beside the bar) says where the job is, as its rows come
        at the end of its interleaved rounds. It lists the results folder while the job's
        search is timed, so it counts at most every `POLL_SECONDS`; an interrupted job's
        `close` counts once more."""
        self.written, self.step = written, step
        last = [-POLL_SECONDS]

        def tick() -> None:
            now = time.monotonic()
            if now - last[0] >= POLL_SECONDS:
                last[0] = now
                self._count()

        return tick

    def _count(self) -> None:
        if self.written is None:
            return
        if self.step is not None and (text := self.step()):
            self.bar.set_postfix_str(text[:60])
        count = sum(1 for _ in self.written())
        if count > self.seen:
            self.bar.update(count - self.seen)
            self.seen = count

    def close(self, completed: bool = True) -> None:
        """The job ended: all its points are done, or (`completed` false: interrupted) those seen."""
        if not completed:
            self._count()
        self.bar.close()
        self.sweep.finished(self.total if completed else self.seen)
