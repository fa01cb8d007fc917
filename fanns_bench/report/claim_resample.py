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

from fanns_bench.report.claims import UNTESTABLE

QUERY_SET = ["dataset", "workload_digest", "filter_type", "selectivity_bucket", "k", "n_queries"]
BUILD = ["experiment", "dataset", "method", "build_params"]
HEADLINE_CHARS = 60
PER_QUERY = ("recall_per_query", "batch_seconds")  # what a resample draws from (dropped after)


def resample(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """One bootstrap replicate of `frame` (recall, QPS and build drawn as described above)."""
    out = _one_build(frame, rng).copy()
    if "recall_per_query" in out and out["recall_per_query"].notna().any():
        out["recall"] = _resampled_recall(out, rng)
    if "batch_seconds" in out:
        out["qps"] = _resampled_qps(out, rng)
    return out


def robustness(verdicts: list[str], evidence: list[str] | None = None) -> str:
    """ "holds (5 of 5)" when every resample agrees, else "unstable (3 of 5): holds 3, ...";
    then each resample's headline number (`headline` of its evidence) where they were testable."""
    if not verdicts:
        return ""
    counts = Counter(verdicts).most_common()
    top, count = counts[0]
    if count == len(verdicts):
        text = f"{top} ({count} of {count})"
    else:
        text = f"unstable ({count} of {len(verdicts)}): " + ", ".join(f"{name} {n}" for name, n in counts)
    shown = [headline(e) for v, e in zip(verdicts, evidence or [], strict=False) if v != UNTESTABLE]
    if not shown:
        return text
    if len(set(shown)) == 1:
        return f"{text}; every resample: {shown[0]}"
    return f"{text}; resamples: {' / '.join(shown)}"


def headline(evidence: str) -> str:
    """The first clause of a verdict's evidence (its main number), without the scope."""
    first = evidence.split(" [")[0].split("; ")[0]
    return first if len(first) <= HEADLINE_CHARS else first[: HEADLINE_CHARS - 1] + "…"


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
    """Each row's QPS scaled by median(its repetitions) / median(a draw of them), rows with the
    same number of repetitions drawn together."""
    qps = frame["qps"].astype(float).copy()
    lengths = frame["batch_seconds"].map(_length)
    for length, rows in frame["batch_seconds"][lengths >= 2].groupby(lengths[lengths >= 2], sort=True):
        seconds = np.stack([np.asarray(v, dtype=float) for v in rows])
        draw = rng.integers(0, int(length), (len(rows), int(length)))
        drawn = np.median(np.take_along_axis(seconds, draw, axis=1), axis=1)
        scale = np.where(drawn > 0, np.median(seconds, axis=1) / np.where(drawn > 0, drawn, 1.0), 1.0)
        qps.loc[rows.index] = qps.loc[rows.index].to_numpy() * scale
    return qps


def _length(value: object) -> int:
    return len(value) if isinstance(value, list | tuple | np.ndarray) else 0
