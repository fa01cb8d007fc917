"""Dispersion of a point's repetitions, and whether the point is noisy (and why).

The thresholds follow the checks of the measurement tools of our ecosystem:
- pyperf (`pyperf check`, `format_checks` in pyperf/_cli.py) warns that "the benchmark
  result may be unstable" when the standard deviation is >= 10 % of the mean, when the
  minimum or maximum is >= 50 % away from the mean, and when the shortest raw value took
  under 1 ms. We apply the first two to the per-repetition rates (end to end and given the
  filter) and the third to the repetition length.
- google-benchmark reports CPU time beside real time for the same reason we do; a search on
  one thread that got well under one core of CPU per second of wall time spent the rest
  waiting for a core (or for I/O), so its wall rate says more about the machine than about
  the method. `MIN_CPU_WALL_RATIO` 0.85 flags a point whose wall time is ~18 % or more above
  its CPU time: the issue asks that points whose wall QPS moved by over 20 % be flagged.
- A load average above the number of cores means processes queued for a core during the
  point (the benchmark itself counts 1 per busy thread).

Drift between the rounds of a job (issue 16): the repetitions of a job's points are taken in
rounds (`schedule.py`), so the machine's speed during each round can be read off the points
themselves: a round's factor is the median, over the job's points and both kinds of pass, of
repetition time / that point's median repetition time. `drift` is max/min of the factors
minus 1. `MAX_DRIFT` 0.10 is the issue's own tolerance: two runs must agree within 10 % (ratio
in [0.9, 1.1]); a job whose machine sped up or slowed down by more than that between its own
rounds cannot promise it, whatever its points' medians say.

The probe (`probe.py`) is recorded (`probe_ratio`: the job's machine against the start of the
run) but is not a noisy reason: its fixed kernel's time is a property of the process as much as
of the machine (fresh quiet processes timed it at 9.4-14.1 ms on a 2-core VM), and over five
pairs of `paper_fig23_em_scaled` runs (quiet, with two CPU hogs, a host that slowed one run) it
never flagged a point that moved by over 20 % which drift or spread had not flagged already,
while on one quiet pair it alone flagged 63 points, none of which moved. `compare` still counts
the points outside [`MIN_PROBE_RATIO`, `MAX_PROBE_RATIO`] = [0.6, 1.67], so it can be judged again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

MAX_RELATIVE_STD = 0.10  # pyperf: "the standard deviation (...) is N% of the mean"
MAX_EXTREME_DEVIATION = 0.50  # pyperf: "the maximum (...) is N% greater than the mean"
MIN_REPETITION_S = 1e-3  # pyperf: "the shortest raw value only took ..."
MIN_CPU_WALL_RATIO = 0.85  # one query thread: CPU seconds per wall second of the search
MAX_DRIFT = 0.10  # max/min - 1 of a job's round factors (machine speed between its rounds)
MIN_PROBE_RATIO, MAX_PROBE_RATIO = 0.6, 1.67  # baseline probe / the job's median probe (counted, no flag)


def dispersion(n_queries: int, seconds: Sequence[float]) -> dict[str, float]:
    """QPS (n / median batch seconds) and the spread of the per-repetition rates."""
    times = np.asarray(seconds, dtype=float)
    rates = n_queries / times
    q1, q3 = np.percentile(rates, [25, 75])
    return {
        "qps": float(n_queries / np.median(times)),
        "qps_mean": float(rates.mean()),
        "qps_std": float(rates.std(ddof=1)) if len(rates) > 1 else 0.0,
        "qps_best": float(rates.max()),
        "qps_min": float(rates.min()),
        "qps_iqr": float(q3 - q1),
    }


@dataclass(frozen=True)
class NoiseInputs:
    """What the noisy flag looks at, for one point."""

    rates: Sequence[float]  # per-repetition QPS, end to end
    given_rates: Sequence[float]  # per-repetition QPS given the filter input
    repetition_seconds: float  # wall time of the shortest timed repetition
    cpu_wall_ratio: float | None  # group CPU seconds / wall seconds of the timed repetitions
    threads: int  # query threads
    load_avg: float  # highest 1-minute load average seen during the point
    cores: int  # cores of the machine


def noisy_reasons(point: NoiseInputs) -> list[str]:
    """Why the point's figures are not to be trusted as repeatable (empty: they are)."""
    reasons = []
    for label, rates in (("QPS", point.rates), ("QPS given filter", point.given_rates)):
        reasons += _spread_reasons(label, np.asarray(rates, dtype=float))
    if point.repetition_seconds < MIN_REPETITION_S:
        reasons.append(
            f"shortest repetition {point.repetition_seconds * 1e3:.3g} ms "
            f"< {MIN_REPETITION_S * 1e3:g} ms (raise runner.min_repetition_s)"
        )
    ratio = point.cpu_wall_ratio
    if point.threads == 1 and ratio is not None and ratio < MIN_CPU_WALL_RATIO:
        reasons.append(f"CPU/wall {ratio:.2f} < {MIN_CPU_WALL_RATIO} at one thread (waited for a core)")
    if point.load_avg > point.cores:
        reasons.append(f"load average {point.load_avg:.1f} > {point.cores} cores")
    return reasons


def _spread_reasons(label: str, rates: np.ndarray) -> list[str]:
    if len(rates) < 2 or not np.all(np.isfinite(rates)) or rates.mean() <= 0:
        return []
    mean = rates.mean()
    relative_std = rates.std(ddof=1) / mean
    if relative_std >= MAX_RELATIVE_STD:
        return [f"{label} std {relative_std:.0%} of the mean (>= {MAX_RELATIVE_STD:.0%})"]
    extreme = np.abs(rates - mean).max() / mean
    if extreme >= MAX_EXTREME_DEVIATION:
        return [f"{label} extreme {extreme:.0%} from the mean (>= {MAX_EXTREME_DEVIATION:.0%})"]
    return []


def round_factors(times: Sequence[Sequence[Sequence[float]]]) -> list[float]:
    """Machine-speed factor of each round: `times[p][r]` holds point p's repetition times of
    round r (one per kind of pass); the factor of round r is the median over points and kinds
    of that time / the point's median time of that kind (1: the job's typical speed, > 1:
    slower). Rounds some point lacks (it failed) use the points that have them."""
    ratios: dict[int, list[float]] = {}
    for point in times:
        kinds = zip(*point, strict=True) if point else []
        for kind in kinds:
            median = float(np.median(kind))
            if median <= 0 or not np.isfinite(median):
                continue
            for number, seconds in enumerate(kind):
                ratios.setdefault(number, []).append(seconds / median)
    return [float(np.median(ratios[r])) for r in sorted(ratios)]


def drift(factors: Sequence[float]) -> float | None:
    """max/min - 1 of the round factors (None below two rounds)."""
    if len(factors) < 2 or min(factors) <= 0:
        return None
    return float(max(factors) / min(factors) - 1)


def process_rates(n_queries: int, seconds: Sequence[float], sizes: Sequence[int]) -> list[float]:
    """QPS of each process of a job (`runner.processes`): n / the median of its repetitions'
    seconds per pass; `sizes`: repetitions per process, in order."""
    bounds = np.cumsum([0, *sizes])
    spans = zip(bounds[:-1], bounds[1:], strict=True)
    return [float(n_queries / np.median(seconds[a:b])) for a, b in spans if b > a]


def process_reasons(rates: Sequence[float]) -> list[str]:
    """Why a point measured in several processes is not repeatable: the standard deviation of
    its processes' QPS is `MAX_RELATIVE_STD` or more of their mean (pyperf's check, applied
    across processes: a process's memory placement and the machine's speed while it ran both
    show here). On two quiet runs a max/min rule at 10 % flagged 77 % of the points; this one
    45 %, and still every point that moved by over 20 % between the runs."""
    values = np.asarray(rates, dtype=float)
    if len(values) < 2 or values.min() <= 0:
        return []
    relative_std = values.std(ddof=1) / values.mean()
    if relative_std < MAX_RELATIVE_STD:
        return []
    return [
        f"QPS std {relative_std:.0%} of the mean across the job's {len(values)} processes "
        f"(>= {MAX_RELATIVE_STD:.0%})"
    ]


def drift_reasons(job_drift: float | None) -> list[str]:
    """Why the job's machine was not steady between its rounds (empty: it was, or one round)."""
    if job_drift is not None and job_drift > MAX_DRIFT:
        return [f"machine speed moved {job_drift:.0%} between rounds of this job (> {MAX_DRIFT:.0%})"]
    return []
