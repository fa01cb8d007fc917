"""Exact scores, shared by ground truth, the exact method and tie-aware recall.

Scores are "higher is better": the inner product for `ip`, the negated squared
Euclidean distance for `l2`.
"""

from __future__ import annotations

import numpy as np


def scores(
    queries: np.ndarray, vectors: np.ndarray, metric: str, out: np.ndarray | None = None
) -> np.ndarray:
    """(len(queries), len(vectors)) matrix of scores, written into `out` when given."""
    products = np.matmul(queries, vectors.T, out=out)
    if metric == "ip":
        return products
    products *= 2.0
    products -= np.einsum("ij,ij->i", queries, queries)[:, None]
    products -= np.einsum("ij,ij->i", vectors, vectors)[None, :]
    return products


def top_k(score_rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Column positions and scores of the k best entries of each row, best first."""
    k = min(k, score_rows.shape[1])
    if k == 0:
        empty = np.empty((score_rows.shape[0], 0))
        return empty.astype(np.int64), empty.astype(np.float32)
    part = np.argpartition(-score_rows, k - 1, axis=1)[:, :k]
    part_scores = np.take_along_axis(score_rows, part, axis=1)
    order = np.argsort(-part_scores, axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1), np.take_along_axis(part_scores, order, axis=1)


def exact_filtered_top_k(
    query: np.ndarray, vectors: np.ndarray, ids: np.ndarray, k: int, metric: str
) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k ids and scores of one query among the items `ids` (fewer if fewer match).

    A thin entry to the one exact top-k, the compiled `compute_ground_truth` (one thread;
    ties go to the smaller id), with its -1/NaN padding dropped.
    """
    from fanns_bench.groundtruth import compute_ground_truth

    ids = np.unique(np.asarray(ids, dtype=np.int64))
    truth = compute_ground_truth(query[None, :], vectors, [ids], k, metric, threads=1)
    found = truth.ids[0] >= 0
    return truth.ids[0][found], truth.scores[0][found]
