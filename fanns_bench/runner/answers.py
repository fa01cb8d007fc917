"""What a row's answers say beyond recall (issue 22): filter violations of a method that
promised exact filtering, short answers, and the method's own counters.

- `violation_rate`: returned ids outside their query's filter / returned ids.
- `short_queries`: queries given fewer than k ids although at least k items match, and
  `empty_slots`: the -1 slots of those queries (a method that gives up early).
- `invalid_reason`: a method that does not declare approximate filtering
  (`Method.filters_approximately`) and returned ids outside the filter gets an `invalid` row.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from fanns_bench.methods.base import Method


def answer_checks(ids: np.ndarray, match_ids: list[np.ndarray], k: int, violations: int) -> dict[str, Any]:
    """`violation_rate`, `short_queries` and `empty_slots` of (queries, k) ids padded with -1."""
    returned = ids >= 0
    found = returned.sum(axis=1)
    matching = np.array([len(m) for m in match_ids], dtype=np.int64)
    short = (found < k) & (matching >= k)
    total = int(found.sum())
    return {
        "violation_rate": violations / total if total else 0.0,
        "short_queries": int(short.sum()),
        "empty_slots": int((~returned[short]).sum()),
    }


def invalid_reason(
    method: type[Method] | Method, search_params: dict[str, Any], measured: dict[str, Any]
) -> str | None:
    """Why a measured row is `invalid` (None when it is not): ids outside the filter from a
    method that does not declare approximate filtering."""
    violations = int(measured.get("filter_violations") or 0)
    if violations == 0 or method.filters_approximately(search_params):
        return None
    returned = sum(1 for i in measured.get("ids") or () if i >= 0)
    return (
        f"{violations} of {returned} returned ids do not satisfy their query's filter, and "
        f"{method.name} does not declare approximate filtering (Method.approximate_filter)"
    )


def stats_json(stats: dict[str, Any]) -> str | None:
    """Every counter `Method.stats()` returned, as sorted JSON (None when it returned none)."""
    if not stats:
        return None
    return json.dumps({str(k): _number(v) for k, v in stats.items()}, sort_keys=True)


def _number(value: Any) -> Any:
    """A JSON-safe value: numpy scalars as Python numbers, NaN/inf as null."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value if isinstance(value, int | float | str | bool) or value is None else str(value)
