"""How robust a paper-claim verdict is: the claim re-checked on seeded bootstrap resamples of
the measurements behind it.

One resample draws, with replacement, (1) each query set's queries (the same draw for every
row measured on that set, so methods stay paired) and recomputes each row's recall from its
`recall_per_query` (micro-average: every query with a match weighs min(k, |gt|), k for the
paper workloads' buckets); (2) each row's timed repetitions (`batch_seconds`), scaling its QPS
by the ratio of the medians; (3) where rows carry `build_repeat` > 0, one of the repeated
builds of each configuration. `robustness` turns the resamples' verdicts into "holds (5 of 5)",
"does not hold (5 of 5)" or "unstable (3 of 5): ...".
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

QUERY_SET = ["dataset", "workload_digest", "filter_type", "selectivity_bucket", "k", "n_queries"]
BUILD = ["experiment", "dataset", "method", "build_params"]


def resample(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """One bootstrap replicate of `frame` (recall, QPS and build drawn as described above)."""
    out = _one_build(frame, rng).copy()
    if "recall_per_query" in out:
        out["recall"] = _resampled_recall(out, rng)
    if "batch_seconds" in out:
        out["qps"] = _resampled_qps(out, rng)
    return out


def robustness(verdicts: list[str]) -> str:
    """ "holds (5 of 5)" when every resample agrees, else "unstable (3 of 5): holds 3, ..."."""
    if not verdicts:
        return ""
    counts = Counter(verdicts).most_common()
    top, count = counts[0]
    if count == len(verdicts):
        return f"{top} ({count} of {count})"
    spread = ", ".join(f"{name} {n}" for name, n in counts)
    return f"unstable ({count} of {len(verdicts)}): {spread}"


def _one_build(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """The rows of one randomly chosen `build_repeat` per configuration (all rows when none)."""
    if "build_repeat" not in frame or not (frame["build_repeat"].fillna(0) > 0).any():
        return frame
    keys = [k for k in BUILD if k in frame]
    repeats = frame["build_repeat"].fillna(0).astype(int)
    chosen = repeats.groupby([frame[k] for k in keys], dropna=False, sort=True).transform(
        lambda s: rng.choice(np.unique(s))
    )
    return frame[repeats == chosen]


def _resampled_recall(frame: pd.DataFrame, rng: np.random.Generator) -> pd.Series:
    recall = frame["recall"].astype(float).copy()
    keys = [k for k in QUERY_SET if k in frame]
    per_query = frame["recall_per_query"]
    for _, group in frame.groupby(keys, dropna=False, sort=True):
        n = int(group["n_queries"].iloc[0]) if "n_queries" in group else 0
        stored = [i for i in group.index if _length(per_query[i]) == n and n > 0]
        if not stored:
            continue
        draw = rng.integers(0, n, n)
        matrix = np.stack([np.asarray(per_query[i], dtype=float)[draw] for i in stored])
        valid = ~np.isnan(matrix)
        with np.errstate(invalid="ignore"):
            values = np.where(valid.any(axis=1), np.nansum(matrix, axis=1) / valid.sum(axis=1), np.nan)
        recall.loc[stored] = values
    return recall


def _resampled_qps(frame: pd.DataFrame, rng: np.random.Generator) -> pd.Series:
    qps = frame["qps"].astype(float).copy()
    for index, seconds in frame["batch_seconds"].items():
        if _length(seconds) < 2:
            continue
        seconds = np.asarray(seconds, dtype=float)
        drawn = seconds[rng.integers(0, len(seconds), len(seconds))]
        if np.median(drawn) > 0:
            qps[index] = qps[index] * np.median(seconds) / np.median(drawn)
    return qps


def _length(value: object) -> int:
    return len(value) if isinstance(value, list | tuple | np.ndarray) else 0
