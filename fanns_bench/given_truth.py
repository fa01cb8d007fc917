"""The one check of a ground truth given with a workload against exact search.

Both the runner, before it uses a given ground truth (`runner.context`), and the
published-data cross-check (`data.published.crosscheck_ground_truth`) judge each query's
given ids here, so "agrees with exact search" means one thing, with one tolerance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SCORE_TOLERANCE = 1e-4
"""Relative (floored at 1 in absolute terms): scores this close count as equal.

The given ids' scores are recomputed by numpy, the exact ones by the compiled kernel, which
sums the same float32 products in another order (tiles, SIMD lanes, the gather path). For
the dimensions benchmarked (up to about 1,000) those sums agree to about 1e-6 of the
score's magnitude; 1e-4 leaves a wide margin over that, so correct truth never fails, yet
stays far under the score gap to a neighbour that does not belong in the top k, so an
id taken from the wrong rank fails (tests/data/test_given_truth.py, tests/data/test_published.py).
"""


@dataclass(frozen=True)
class RowCheck:
    """The verdict on one query's given ids.

    `problem`: None, or the first of "filter" (an id does not satisfy the filter), "order"
    (not best first), "rank" (an id scores below exact search's id at its rank);
    `message` says which id. `agreeing` of `compared` ranks score as well as exact search's.
    `short`: fewer ids than exact search found; `near_tie`: the same scores as exact
    search but other ids (ties within the tolerance).
    """

    problem: str | None
    message: str
    agreeing: int
    compared: int
    short: bool
    near_tie: bool


def check_row(
    given: np.ndarray,
    given_scores: np.ndarray,
    exact_ids: np.ndarray,
    exact_scores: np.ndarray,
    matches: np.ndarray,
) -> RowCheck:
    """Judge one query's given ids (best first, unpadded, with their scores).

    `exact_ids`/`exact_scores`: exact search's row (-1/NaN padded, as `GroundTruth`),
    compared over its depth; `matches`: the ids that satisfy the query's filter.
    """
    tolerance = SCORE_TOLERANCE * np.maximum(1.0, np.abs(given_scores))
    wanted = int((exact_ids >= 0).sum())
    n = min(len(given), wanted)
    low = np.flatnonzero(given_scores[:n] < exact_scores[:n] - tolerance[:n])
    stray = given[~np.isin(given, matches)]
    rising = np.flatnonzero(given_scores[1:] > given_scores[:-1] + tolerance[1:])
    problem, message = _first_problem(given, given_scores, exact_ids, exact_scores, stray, rising, low)
    near_tie = set(given[:n].tolist()) != set(exact_ids[:n].tolist())
    return RowCheck(problem, message, n - len(low), wanted, len(given) < wanted, near_tie)


def _first_problem(
    given: np.ndarray,
    scores: np.ndarray,
    exact_ids: np.ndarray,
    exact_scores: np.ndarray,
    stray: np.ndarray,
    rising: np.ndarray,
    low: np.ndarray,
) -> tuple[str | None, str]:
    """(kind, message) of the first problem found: filter, then order, then rank."""
    if len(stray):
        return "filter", f"id {int(stray[0])} does not satisfy the filter"
    if len(rising):
        j = int(rising[0])
        first, second = f"id {int(given[j])} (score {scores[j]:.6g})", f"id {int(given[j + 1])}"
        return "order", f"not best first: {first} comes before {second} (score {scores[j + 1]:.6g})"
    if len(low):
        j = int(low[0])
        exact = f"item {int(exact_ids[j])} scores {exact_scores[j]:.6g}"
        return "rank", (
            f"id {int(given[j])} at rank {j + 1} scores {scores[j]:.6g}, but exact search's "
            f"rank-{j + 1} {exact}: the given id is not among the exact top"
        )
    return None, ""
