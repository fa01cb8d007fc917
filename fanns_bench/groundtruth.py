"""Exact filtered top-K per query, computed in query x base blocks.

Low-selectivity queries gather their matching vectors and score only those. The rest
are scored against the whole base in blocks of queries (BLAS through numpy, in column
tiles that stay in cache), and each query's matching scores are then reduced by faiss's
C++ heaps. Fewer than K matches is legal: ids are padded with -1 and scores with NaN.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from fanns_bench.errors import WorkloadError
from fanns_bench.scoring import exact_filtered_top_k, scores

SCORE_BUFFER_BYTES = 1 << 28  # one query block's scores against the whole base
COLUMN_TILE = 4096  # base rows per matrix product
GATHER_BELOW = 1 / 16  # selectivity under which a query scores only its matches


@dataclass
class GroundTruth:
    """ids (nq x K, -1 padded), scores (nq x K, NaN padded; higher is better), counts."""

    ids: np.ndarray
    scores: np.ndarray

    @property
    def depth(self) -> int:
        return self.ids.shape[1]

    @property
    def counts(self) -> np.ndarray:
        return (self.ids >= 0).sum(axis=1)

    def save(self, path: Path) -> None:
        tmp = path.with_name(f".{path.name}.tmp.npz")
        np.savez(tmp, ids=self.ids, scores=self.scores)
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> GroundTruth:
        try:
            with np.load(path) as data:
                return cls(data["ids"], data["scores"])
        except (OSError, ValueError, KeyError) as error:
            raise WorkloadError(f"{path}: unreadable ground truth ({error})") from None


def compute_ground_truth(
    queries: np.ndarray,
    vectors: np.ndarray,
    match_ids: list[np.ndarray],
    depth: int,
    metric: str,
) -> GroundTruth:
    """Exact top-`depth` ids and scores of each query among its matching ids."""
    nq, count = len(queries), len(vectors)
    if len(match_ids) != nq:
        raise WorkloadError(f"{nq} queries but {len(match_ids)} filters")
    ids = np.full((nq, depth), -1, dtype=np.int64)
    best = np.full((nq, depth), np.nan, dtype=np.float32)
    sparse = [i for i in range(nq) if len(match_ids[i]) < GATHER_BELOW * count]
    dense = np.setdiff1d(np.arange(nq), sparse)
    for i in sparse:
        found, found_scores = exact_filtered_top_k(queries[i], vectors, match_ids[i], depth, metric)
        ids[i, : len(found)], best[i, : len(found)] = found, found_scores
    query_block = int(np.clip(SCORE_BUFFER_BYTES // (4 * max(count, 1)), 16, 1024))
    for start in range(0, len(dense), query_block):
        rows = dense[start : start + query_block]
        block_ids, block_scores = _dense_block(
            queries[rows], vectors, [match_ids[r] for r in rows], depth, metric
        )
        ids[rows], best[rows] = block_ids, block_scores
    return GroundTruth(ids, best)


def _dense_block(
    queries: np.ndarray, vectors: np.ndarray, match_ids: list[np.ndarray], depth: int, metric: str
) -> tuple[np.ndarray, np.ndarray]:
    """Scores against the whole base, then each query's matches into faiss's C++ heaps."""
    nq, count = len(queries), len(vectors)
    all_scores = np.empty((nq, count), dtype=np.float32)
    for start in range(0, count, COLUMN_TILE):
        block = np.asarray(vectors[start : start + COLUMN_TILE], dtype=np.float32)
        scores(queries, block, metric, out=all_scores[:, start : start + len(block)])
    best_ids = np.full((nq, depth), -1, dtype=np.int64)
    best_scores = np.full((nq, depth), -np.inf, dtype=np.float32)
    heaps = faiss.float_minheap_array_t()  # a min-heap keeps the `depth` largest scores
    heaps.k, heaps.nh = depth, nq
    heaps.val, heaps.ids = faiss.swig_ptr(best_scores), faiss.swig_ptr(best_ids)
    heaps.heapify()
    for i, ids in enumerate(match_ids):
        if len(ids) == count:  # every item matches: the row as it is
            heaps.addn(count, faiss.swig_ptr(all_scores[i]), 0, i, 1)
            continue
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        candidates = np.take(all_scores[i], ids)
        heaps.addn_with_ids(len(ids), faiss.swig_ptr(candidates), faiss.swig_ptr(ids), len(ids), i, 1)
    heaps.reorder()
    missing = ~np.isfinite(best_scores)
    best_ids[missing] = -1
    best_scores[missing] = np.nan
    return best_ids, best_scores
