"""QPS from several fresh processes per side (`--qps-processes N`).

One process's QPS moves by 10-15 % with where its memory lands, so a single timing per side
is one draw of that noise. Each side is timed N times, each time in a fresh process,
alternating ours, theirs, ours, theirs, ...; the table shows each side's median."""

from __future__ import annotations

import multiprocessing
import statistics
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
U = TypeVar("U")


def alternate(ours: Callable[[], T], theirs: Callable[[], U], times: int) -> tuple[list[T], list[U]]:
    """`ours()` and `theirs()` called `times` times each, in turn, ours first."""
    our_runs: list[T] = []
    their_runs: list[U] = []
    for _ in range(times):
        our_runs.append(ours())
        their_runs.append(theirs())
    return our_runs, their_runs


def in_fresh_process(function: Callable[..., T], *arguments: Any) -> T:
    """`function(*arguments)` in a newly spawned Python process (nothing inherited from this
    one's memory); `function` and the arguments must be picklable."""
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(function, *arguments).result()


def median_span(values: list[float | None]) -> tuple[float | None, float | None, float | None]:
    """(median, min, max) of the values that were measured (None each where none was)."""
    known = [v for v in values if v is not None]
    if not known:
        return None, None, None
    return statistics.median(known), min(known), max(known)
