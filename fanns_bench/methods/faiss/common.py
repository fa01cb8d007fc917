"""Shared pieces of the faiss methods: metric mapping, threads, index size, selector search."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from fanns_bench.errors import MethodError
from fanns_bench.methods.base import FilterBatch
from fanns_bench.methods.common.id_sets import IdSets, id_sets


def faiss_metric(metric: str) -> Any:
    import faiss

    if metric == "ip":
        return faiss.METRIC_INNER_PRODUCT
    if metric == "l2":
        return faiss.METRIC_L2
    raise MethodError(f"faiss methods support metrics ip and l2, not {metric!r}")


def set_threads(threads: int) -> None:
    import faiss

    faiss.omp_set_num_threads(max(1, int(threads)))


def index_bytes(index: Any) -> int:
    """Size of the serialised index (what faiss would write to disk)."""
    import faiss

    return int(faiss.serialize_index(index).nbytes)


def as_float32(matrix: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(matrix, dtype=np.float32)


@dataclass(frozen=True)
class Selectors:
    """One `IDSelectorBitmap` per distinct id set (the bitmaps they point into kept alive)."""

    sets: IdSets
    bitmaps: np.ndarray
    selectors: list[Any]


def bitmap_selectors(filters: FilterBatch) -> Selectors:
    """The batch's id sets as packed bitmaps and faiss selectors over them."""
    import faiss

    sets = id_sets(filters)
    bitmaps = sets.bitmaps()
    selectors = [faiss.IDSelectorBitmap(sets.num_items, faiss.swig_ptr(row)) for row in bitmaps]
    return Selectors(sets, bitmaps, selectors)


def selector_search(
    index: Any, queries: np.ndarray, filters: Selectors, k: int, make_params: Callable[[Any], Any]
) -> np.ndarray:
    """Search each group of queries sharing a filter with that filter's selector (faiss
    applies one selector to a whole batch); unfiltered queries get no selector."""
    out = np.full((len(queries), k), -1, dtype=np.int64)
    for set_index, rows in filters.sets.queries_by_set().items():
        selector = None if set_index < 0 else filters.selectors[set_index]
        _, found = index.search(queries[rows], k, params=make_params(selector))
        out[rows] = found
    return out
