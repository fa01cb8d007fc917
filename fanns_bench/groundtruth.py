"""Exact filtered top-K per query, computed in the compiled core.

`fanns_bench._core.filtered_top_k` scores queries that match few items against those
items only; the rest go through a cache-blocked matrix product whose tiles are reduced
straight into per-query heaps through each query's match bits (no score matrix is
stored). Ties go to the smaller id. Fewer than K matches is legal: ids are padded with
-1 and scores with NaN.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fanns_bench.atomic_files import temporary_sibling
from fanns_bench.errors import WorkloadError

GATHER_BELOW = 1 / 16  # selectivity under which a query scores only its matches
# Bump when the ground truth or the predicate evaluation that selects its items changes:
# it is part of the workload cache key, so every cached ground truth is recomputed.
GROUND_TRUTH_VERSION = 2


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
        tmp = temporary_sibling(path, ".npz")
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
    threads: int | None = None,
) -> GroundTruth:
    """Exact top-`depth` ids and scores of each query among its matching ids (sorted ids).

    `threads`: OpenMP threads (default: every core). Ties are broken by the smaller id.
    """
    from fanns_bench import _core

    nq = len(queries)
    if len(match_ids) != nq:
        raise WorkloadError(f"{nq} queries but {len(match_ids)} filters")
    if metric not in ("ip", "l2"):
        raise WorkloadError(f"metric {metric!r} is not ip or l2")
    if nq == 0:
        return GroundTruth(np.empty((0, depth), np.int64), np.empty((0, depth), np.float32))
    lists = _id_lists(match_ids)
    try:
        ids, scores = _core.filtered_top_k(
            np.ascontiguousarray(queries, dtype=np.float32),
            _float32_rows(vectors),
            lists,
            depth,
            metric,
            GATHER_BELOW,
            threads or os.cpu_count() or 1,
        )
    except ValueError as error:
        raise WorkloadError(f"ground truth: {error}") from None
    return GroundTruth(ids, scores)


def _float32_rows(vectors: np.ndarray) -> np.ndarray:
    """The base as a C-contiguous float32 array (a memory map stays a memory map)."""
    if isinstance(vectors, np.ndarray) and vectors.dtype == np.float32 and vectors.flags.c_contiguous:
        return vectors
    return np.ascontiguousarray(vectors, dtype=np.float32)


def _id_lists(match_ids: list[np.ndarray]) -> list[np.ndarray]:
    """int64 arrays (the core checks that each is ascending, without repeats, in range)."""
    return [ids if _is_int64(ids) else np.ascontiguousarray(ids, dtype=np.int64) for ids in match_ids]


def _is_int64(ids: np.ndarray) -> bool:
    return isinstance(ids, np.ndarray) and ids.dtype == np.int64 and ids.flags.c_contiguous
