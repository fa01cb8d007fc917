"""The adapter shared by the segment-graph methods of the compiled core (`serf`, `dsg`).

Both index the items of ONE ordered attribute (build parameter `attribute`) by their position
in that attribute's sorted order, and answer a range on that attribute (or no filter):
`prepare_filters` turns each query's value range into half-open positions
(`common/ordered.py`, so the conversion is timed in `qps`), the core searches positions, and
`search` maps them back to item ids. Items whose attribute is null are not in the order, so
no query returns them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from fanns_bench.data.dataset import Dataset
from fanns_bench.errors import MethodError
from fanns_bench.methods.common.ordered import PositionRanges, to_item_ids
from fanns_bench.methods.common.sorted_range_index import OrderedAttributeMethod
from fanns_bench.methods.params import Param

ATTRIBUTE = Param(str, "update_date", "the ordered attribute the index sorts items by (ranges on it only)")
SEARCH_PARAMETERS = {
    "ef_search": Param(
        int, 64, "candidate list size (results: at most this many unless raise_ef_to_k)", minimum=1
    ),
    "scan_below": Param(
        int, 0, "ranges of fewer items are scored exhaustively (0: never, as the authors' search)", minimum=0
    ),
    "return_seeds": Param(
        bool, False, "the search's seeds may be results (ours); false: expanded only, as the authors' search"
    ),
    "raise_ef_to_k": Param(
        bool,
        False,
        "raise ef_search to k (ours); false: ef_search < k returns ef_search ids, as the authors'",
    ),
}


class SegmentGraphMethod(OrderedAttributeMethod):
    """Range filters on one ordered attribute through a graph over attribute positions."""

    def __init__(self, metric: str, threads: int = 1, **build_params: Any) -> None:
        super().__init__(metric, threads, **build_params)
        self._order: np.ndarray | None = None

    def _build_core(self, index: Any, vectors: np.ndarray) -> None:
        index.build(vectors)

    def build(self, dataset: Dataset) -> None:
        from fanns_bench import _core

        order = self.sorted_items(dataset)
        vectors = np.ascontiguousarray(np.asarray(dataset.vectors)[order], dtype=np.float32)
        index = self.core_call(
            getattr(_core, self.core_class), dataset.dimension, self.metric, **self._core_params()
        )
        self.core_call(self._build_core, index, vectors)
        self._index, self._order = index, order

    def search(
        self,
        queries: np.ndarray,
        filters: PositionRanges,
        k: int,
        ef_search: int,
        scan_below: int,
        return_seeds: bool,
        raise_ef_to_k: bool,
    ) -> np.ndarray:
        """Positions from the core, mapped back to item ids (-1 padded)."""
        index, order = self._built(), self._built_order()
        queries = self.contiguous_queries(queries, index.dim)
        if len(filters.starts) != len(queries):
            raise MethodError(f"{self.name}: {len(filters.starts)} ranges for {len(queries)} queries")
        positions = self.search_core(
            index,
            queries,
            filters.starts,
            filters.stops,
            k,
            ef_search,
            scan_below,
            self.threads,
            return_seeds=return_seeds,
            raise_ef_to_k=raise_ef_to_k,
        )
        return to_item_ids(positions, order)

    def memory_bytes(self) -> int:
        """Vectors (in attribute order) and graph held by the core, plus the position -> id map."""
        if self._order is None:
            return 0
        return super().memory_bytes() + int(self._order.nbytes)

    def save(self, path: str | Path) -> None:
        """Write the index to `path` and the position -> item id map to `<path>.order.npy`."""
        order = self._built_order()
        super().save(path)
        np.save(order_path(path), order)

    def load(self, path: str | Path) -> None:
        """Replace the index by the one saved at `path` (instead of `build`)."""
        index = self.load_core(path)
        try:
            order = np.load(order_path(path), allow_pickle=False)
        except (OSError, ValueError) as error:
            raise MethodError(f"{self.name}: {error}") from error
        if index.params["metric"] != self.metric:
            raise MethodError(
                f"{self.name}: {path} holds an index for metric {index.params['metric']!r}, "
                f"expected {self.metric!r}"
            )
        if order.dtype != np.int64 or order.shape != (index.size,):
            raise MethodError(
                f"{self.name}: {order_path(path)} must hold {index.size} int64 item ids, "
                f"got {order.dtype} {order.shape}"
            )
        self._index, self._order = index, order

    def close(self) -> None:
        super().close()
        self._order = None

    def _built_order(self) -> np.ndarray:
        self._built()
        if self._order is None:
            raise MethodError(f"{self.name}: call build() (or load()) before search()")
        return self._order


def order_path(path: str | Path) -> Path:
    """Where `save` keeps the position -> item id map beside the index file."""
    return Path(f"{path}.order.npy")
