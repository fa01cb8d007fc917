"""Recall@k, two ways.

- `recall_paper`: the seed paper's (and most FANNS codes'): sum over queries of
  |returned[:k] ∩ truth[:k]| divided by sum of min(k, |truth|) (micro-average).
- `recall_tie_aware`: per query, a returned id counts when it satisfies the filter and
  its exact score is at least the k-th true score (so equally good neighbours count);
  the mean over queries with at least one match.
"""

from __future__ import annotations

import numpy as np

from fanns_bench.errors import WorkloadError
from fanns_bench.groundtruth import GroundTruth
from fanns_bench.scoring import scores

TIE_TOLERANCE = 1e-5


def _check(result_ids: np.ndarray, truth: GroundTruth, k: int) -> None:
    if k > truth.depth:
        raise WorkloadError(f"k={k} exceeds the ground truth depth {truth.depth}; raise it")
    if result_ids.ndim != 2 or result_ids.shape[0] != truth.ids.shape[0]:
        raise WorkloadError(f"results of shape {result_ids.shape} do not match {truth.ids.shape[0]} queries")


def hits_per_query(result_ids: np.ndarray, truth: GroundTruth, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(hits, min(k, |truth|)) per query, by id."""
    _check(result_ids, truth, k)
    hits = np.zeros(len(result_ids), dtype=np.int64)
    wanted = np.minimum(k, truth.counts)
    for i, (returned, true) in enumerate(zip(result_ids[:, :k], truth.ids, strict=True)):
        hits[i] = np.intersect1d(returned[returned >= 0], true[: wanted[i]]).size
    return hits, wanted


def recall_paper(result_ids: np.ndarray, truth: GroundTruth, k: int) -> float:
    """Micro-averaged recall@k (NaN if no query has a match)."""
    hits, wanted = hits_per_query(result_ids, truth, k)
    return float(hits.sum() / wanted.sum()) if wanted.sum() else float("nan")


def recall_per_query(result_ids: np.ndarray, truth: GroundTruth, k: int) -> np.ndarray:
    """hits / min(k, |truth|) per query; NaN for queries without matches."""
    hits, wanted = hits_per_query(result_ids, truth, k)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(wanted > 0, hits / np.maximum(wanted, 1), np.nan)


def recall_tie_aware(
    result_ids: np.ndarray,
    truth: GroundTruth,
    k: int,
    queries: np.ndarray,
    vectors: np.ndarray,
    match_ids: list[np.ndarray],
    metric: str,
) -> float:
    """Mean per-query recall where returned ids tied with the k-th true score count."""
    _check(result_ids, truth, k)
    values = []
    for i, returned in enumerate(result_ids[:, :k]):
        wanted = min(k, int(truth.counts[i]))
        if wanted == 0:
            continue
        returned = np.unique(returned[returned >= 0])
        returned = returned[np.isin(returned, match_ids[i], assume_unique=True)]
        if returned.size == 0:
            values.append(0.0)
            continue
        returned_scores = scores(queries[i : i + 1], np.asarray(vectors[returned]), metric)[0]
        threshold = truth.scores[i, wanted - 1]
        good = returned_scores >= threshold - TIE_TOLERANCE * max(1.0, abs(threshold))
        values.append(min(int(good.sum()), wanted) / wanted)
    return float(np.mean(values)) if values else float("nan")
