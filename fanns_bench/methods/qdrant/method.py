"""Qdrant's filterable HNSW, run in-process through qdrant-edge-py (the real engine).

Every attribute is stored as payload and gets a payload index (keyword, integer,
float or bool), created before the HNSW graph is built so that Qdrant adds its
payload-aware links. Queries go through `query_batch` with one translated `Filter`
each; Qdrant's planner chooses between the filtered graph search and an exact scan
over the payload-index matches (`full_scan_threshold_kb`).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from fanns_bench.data.dataset import Dataset
from fanns_bench.errors import MethodError
from fanns_bench.methods.base import ANY_FILTER, FilterBatch, Method, pad_results
from fanns_bench.methods.common.disk import directory_bytes
from fanns_bench.methods.common.values import plain_column, value_types
from fanns_bench.methods.params import Param
from fanns_bench.methods.qdrant.filters import to_qdrant_filter

DISTANCES = {"ip": "Dot", "l2": "Euclid"}
UPSERT_CHUNK = 2048
QUERY_CHUNK = 1024


class QdrantHNSW(Method):
    """Qdrant HNSW with payload indexes on every attribute; filtered search by its planner.

    `full_scan_threshold_kb`: Qdrant's default 10000.
    """

    name = "qdrant_hnsw"
    deterministic_build = "never"
    nondeterminism = (
        "Qdrant draws HNSW levels from an unseeded generator and links nodes on its indexing threads"
    )
    capabilities = ANY_FILTER
    requires = ("qdrant_edge",)
    extra = "qdrant"
    threading = "threads"
    description = "Qdrant engine in-process (qdrant-edge-py): payload-indexed filterable HNSW"

    build_parameters = {
        "m": Param(int, 16, "HNSW graph degree", minimum=2),
        "ef_construct": Param(int, 100, "candidate list size while inserting", minimum=1),
        "payload_m": Param(int, 0, "links of the per-value payload subgraphs (0: m)", minimum=0),
        "full_scan_threshold_kb": Param(
            int, 10_000, "below this many KB of matching vectors the planner scans exactly", minimum=0
        ),
        "segments": Param(int, 1, "target segment count", minimum=1),
    }
    search_parameters = {"hnsw_ef": Param(int, 64, "candidate list size (raised to k)", minimum=1)}

    def __init__(self, metric: str, threads: int = 1, **build_params: Any) -> None:
        super().__init__(metric, threads, **build_params)
        self._directory: Path | None = None
        self._shard: Any = None

    def build(self, dataset: Dataset) -> None:
        import qdrant_edge as qd

        self._directory = Path(tempfile.mkdtemp(prefix="fanns-qdrant-"))
        self._dimension = dataset.dimension
        self._shard = qd.EdgeShard.create(str(self._directory / "shard"), self._config(qd))
        self._types = value_types(dataset.attributes)
        for attr, arrow_type in self._types.items():
            self._shard.update(qd.UpdateOperation.create_field_index(attr, _schema(qd, arrow_type)))
        self._upsert(qd, dataset)
        self._shard.optimize()
        self._shard.flush()
        self._search_threads = self.threads
        indexed = self._shard.info().indexed_vectors_count
        if indexed < dataset.count:
            raise MethodError(
                f"{self.name}: Qdrant indexed {indexed} of {dataset.count} vectors after optimize()"
            )

    def _config(self, qd: Any) -> Any:
        params = self.build_params
        hnsw = qd.HnswIndexConfig(
            m=params["m"],
            ef_construct=params["ef_construct"],
            full_scan_threshold=params["full_scan_threshold_kb"],
            max_indexing_threads=self.threads,
            payload_m=params["payload_m"] or None,
        )
        return qd.EdgeConfig(
            vectors=qd.EdgeVectorParams(
                size=self._dimension, distance=getattr(qd.Distance, DISTANCES[self.metric])
            ),
            hnsw_config=hnsw,
            # indexing_threshold=1 KB: every segment gets its HNSW graph, however small.
            optimizers=qd.EdgeOptimizersConfig(
                indexing_threshold=1, default_segment_number=params["segments"]
            ),
            max_search_threads=self.threads,
            wal_enabled=False,
        )

    def _upsert(self, qd: Any, dataset: Dataset) -> None:
        columns = {attr: _payload_column(dataset, attr, t) for attr, t in self._types.items()}
        for start in range(0, dataset.count, UPSERT_CHUNK):
            block = np.asarray(dataset.vectors[start : start + UPSERT_CHUNK], dtype=np.float32)
            points = [
                qd.Point(
                    start + offset,
                    vector.tolist(),
                    {
                        attr: column[start + offset]
                        for attr, column in columns.items()
                        if column[start + offset] is not None
                    },
                )
                for offset, vector in enumerate(block)
            ]
            self._shard.update(qd.UpdateOperation.upsert_points(points))

    def prepare_filters(self, filters: FilterBatch) -> list[Any]:
        """One translated Qdrant `Filter` per query (`None`: unfiltered), shared per predicate."""
        translated = [None if p is None else to_qdrant_filter(p, self._types) for p in filters.distinct]
        return [translated[s] for s in filters.set_of_query]

    def search(
        self, queries: np.ndarray, filters: list[Any], k: int, hnsw_ef: int, **params: Any
    ) -> np.ndarray:
        import qdrant_edge as qd

        self._apply_threads(qd)
        search_params = qd.SearchParams(hnsw_ef=max(hnsw_ef, k), acorn=self._acorn(qd, **params))
        requests = [
            qd.QueryRequest(
                limit=k,
                query=qd.Query.Nearest(query.tolist()),
                filter=condition,
                params=search_params,
                with_payload=False,
                with_vector=False,
            )
            for query, condition in zip(queries, filters, strict=True)
        ]
        rows: list[list[int]] = []
        for start in range(0, len(requests), QUERY_CHUNK):
            batch = qd.QueryBatchRequest(requests[start : start + QUERY_CHUNK])
            rows.extend([p.id for p in points] for points in self._shard.query_batch(batch))
        return pad_results([np.asarray(r, dtype=np.int64) for r in rows], k)

    def set_query_threads(self, threads: int) -> None:
        """Reopen the shard when the count changes: its search pool is sized when it opens."""
        self.threads = threads
        if self._shard is not None:
            import qdrant_edge as qd

            self._apply_threads(qd)

    def _apply_threads(self, qd: Any) -> None:
        """Reopen the shard when `threads` changed (also when set directly, not by the runner)."""
        if self.threads == self._search_threads:
            return
        self._shard.close()
        self._shard = qd.EdgeShard.load(str(self._directory / "shard"), self._config(qd))
        self._search_threads = self.threads

    def _acorn(self, qd: Any, **params: Any) -> Any:
        return None

    def memory_bytes(self) -> int:
        """Bytes the shard occupies on disk (allocated blocks: vectors, graph, payload indexes)."""
        return directory_bytes(self._directory)

    def close(self) -> None:
        if self._shard is not None:
            self._shard.close()
            self._shard = None
        if self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)
            self._directory = None


class QdrantACORN(QdrantHNSW):
    """Qdrant's ACORN mode on the same index (`SearchParams(acorn=AcornSearchParams(...))`).

    `acorn_max_selectivity`: Qdrant's default 0.4; 1.0 = always.
    """

    name = "qdrant_acorn"
    description = "Qdrant engine in-process (qdrant-edge-py): filterable HNSW with ACORN search"

    search_parameters = {
        **QdrantHNSW.search_parameters,
        "acorn_max_selectivity": Param(
            float,
            0.4,
            "ACORN is used for filters of at most this estimated selectivity",
            minimum=0,
            maximum=1,
        ),
    }

    def _acorn(self, qd: Any, acorn_max_selectivity: float) -> Any:
        return qd.AcornSearchParams(enable=True, max_selectivity=acorn_max_selectivity)


def _payload_column(dataset: Dataset, attr: str, arrow_type: pa.DataType) -> list[Any]:
    """One attribute's payload values; booleans as 0/1 (see `filters.qdrant_value`)."""
    column = plain_column(dataset.attributes, attr)
    if not pa.types.is_boolean(arrow_type):
        return column
    to_int = lambda v: None if v is None else int(v)  # noqa: E731
    return [[to_int(v) for v in x] if isinstance(x, list) else to_int(x) for x in column]


def _schema(qd: Any, arrow_type: pa.DataType) -> Any:
    """The payload index for values of `arrow_type`: temporal and boolean values are integers."""
    if pa.types.is_integer(arrow_type) or pa.types.is_temporal(arrow_type) or pa.types.is_boolean(arrow_type):
        return qd.IntegerIndexParams(lookup=True, range=True)
    if pa.types.is_floating(arrow_type):
        return qd.PayloadSchemaType.Float
    return qd.PayloadSchemaType.Keyword
