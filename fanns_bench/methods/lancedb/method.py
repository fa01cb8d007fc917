"""LanceDB: an IVF/HNSW vector index plus scalar indexes, searched with `prefilter=True`.

The table lives in a temporary directory (removed in `close`). Each attribute gets a
scalar index: BITMAP for booleans and low-cardinality categories, BTREE for ordered
and high-cardinality values, LABEL_LIST for list attributes. Queries sharing a
predicate go to Lance as one multi-vector search with one SQL filter.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fanns_bench.data.dataset import Dataset
from fanns_bench.errors import MethodError
from fanns_bench.filters.evaluate import CATEGORICAL, SET
from fanns_bench.methods.base import ANY_FILTER, FilterBatch, Method
from fanns_bench.methods.common.disk import directory_bytes
from fanns_bench.methods.common.values import plain_column, plain_type, value_types
from fanns_bench.methods.lancedb.sql import to_lance_where
from fanns_bench.methods.params import Param

ID, VECTOR = "fanns_id", "fanns_vector"
DISTANCES = {"ip": "dot", "l2": "l2"}
INDEX_TYPES = ("IVF_HNSW_SQ", "IVF_HNSW_FLAT", "IVF_FLAT")
BITMAP_MAX_VALUES = 1000
WRITE_CHUNK = 65_536


class LanceDB(Method):
    """LanceDB vector search with an SQL `where(..., prefilter=True)`."""

    name = "lancedb"
    deterministic_build = "never"
    nondeterminism = (
        "Lance's IVF k-means and HNSW build take no seed and run on its thread pool; two builds differ"
    )
    capabilities = ANY_FILTER
    requires = ("lancedb",)
    extra = "lancedb"
    threading = "threads"
    fixed_thread_pool = True  # LANCE_CPU_THREADS is read once, when Lance first computes
    description = "LanceDB vector index + scalar indexes, SQL where(prefilter=True)"

    build_parameters = {
        "index_type": Param(str, "IVF_HNSW_SQ", "vector index type", choices=INDEX_TYPES),
        "num_partitions": Param(int, 0, "IVF lists (0: Lance's default)", minimum=0),
        "target_partition_size": Param(int, 0, "items per IVF list (0: Lance's default)", minimum=0),
        "m": Param(int, 16, "HNSW graph degree (HNSW types)", minimum=2),
        "ef_construction": Param(int, 100, "HNSW candidate list size while inserting", minimum=1),
    }
    search_parameters = {
        "ef": Param(int, 64, "HNSW candidate list size (HNSW types; raised to k)", minimum=1),
        "nprobes": Param(int, 1, "IVF lists probed", minimum=1),
        "refine_factor": Param(int, 0, "re-rank refine_factor * k candidates exactly (0: off)", minimum=0),
    }

    def __init__(self, metric: str, threads: int = 1, **build_params: Any) -> None:
        super().__init__(metric, threads, **build_params)
        self._directory: Path | None = None
        self._table: Any = None

    def build(self, dataset: Dataset) -> None:
        if "lancedb" not in sys.modules:  # read once, when Lance starts its thread pool
            os.environ["LANCE_CPU_THREADS"] = str(self.threads)
        import lancedb

        self._pool_threads = int(os.environ.get("LANCE_CPU_THREADS", os.cpu_count() or 1))

        self._check_names(dataset)
        self._types = value_types(dataset.attributes)
        self._nullable = frozenset(attr for attr in self._types if dataset.attributes.column(attr).null_count)
        self._directory = Path(tempfile.mkdtemp(prefix="fanns-lance-"))
        schema, batches = _record_batches(dataset)
        database = lancedb.connect(str(self._directory))
        self._table = database.create_table(
            "items", data=pa.RecordBatchReader.from_batches(schema, batches), schema=schema
        )
        self._table.create_index(VECTOR, config=self._vector_index())
        for attr in self._types:
            self._table.create_index(attr, config=_scalar_index(dataset, attr))

    def _check_names(self, dataset: Dataset) -> None:
        clash = {ID, VECTOR} & set(dataset.attributes.kinds)
        if clash:
            raise MethodError(f"lancedb: attribute names {sorted(clash)} are reserved columns")

    def _vector_index(self) -> Any:
        from lancedb import index

        params = self.build_params
        common = {
            "distance_type": DISTANCES[self.metric],
            "num_partitions": params["num_partitions"] or None,
            "target_partition_size": params["target_partition_size"] or None,
        }
        if params["index_type"] == "IVF_FLAT":
            return index.IvfFlat(**common)
        hnsw = {"m": params["m"], "ef_construction": params["ef_construction"]}
        if params["index_type"] == "IVF_HNSW_SQ":
            return index.IvfHnswSq(**common, **hnsw)
        return index.IvfHnswFlat(**common, **hnsw)

    def prepare_filters(self, filters: FilterBatch) -> tuple[list[str | None], np.ndarray]:
        """One SQL filter per distinct predicate (`None`: unfiltered) and each query's filter."""
        wheres = [
            None if p is None else to_lance_where(p, self._types, self._nullable) for p in filters.distinct
        ]
        return wheres, filters.set_of_query

    def search(
        self,
        queries: np.ndarray,
        filters: tuple[list[str | None], np.ndarray],
        k: int,
        ef: int,
        nprobes: int,
        refine_factor: int,
    ) -> np.ndarray:
        wheres, set_of_query = filters
        out = np.full((len(queries), k), -1, dtype=np.int64)
        for set_index, where in enumerate(wheres):
            rows = np.flatnonzero(set_of_query == set_index)
            query = self._table.search(queries[rows], vector_column_name=VECTOR)
            query = query.distance_type(DISTANCES[self.metric]).limit(k).nprobes(nprobes)
            if self.build_params["index_type"] != "IVF_FLAT":
                query = query.ef(max(ef, k))
            if refine_factor:
                query = query.refine_factor(refine_factor)
            if where is not None:
                query = query.where(where, prefilter=True)
            result = query.select([ID, "_distance"]).to_arrow()
            _scatter(out, list(rows), result, k)
        return out

    def set_query_threads(self, threads: int) -> None:
        """Lance's pool cannot be resized in a process: refuse another count (the runner
        gives each query thread count its own worker, so this only guards direct use)."""
        pool = getattr(self, "_pool_threads", None)
        if pool is not None and threads != pool:
            raise MethodError(
                f"lancedb: Lance's compute pool has {pool} threads, fixed when Lance first ran "
                f"in this process; {threads} query threads need a fresh process"
            )
        self.threads = threads

    def build_threads_used(self) -> int:
        """Lance's compute pool size: the build ran on it."""
        return int(getattr(self, "_pool_threads", self.threads))

    def stats(self) -> dict[str, float]:
        """Lance's compute pool size: fixed when Lance first loads, whatever `threads` says later."""
        return {"lance_cpu_threads": float(getattr(self, "_pool_threads", 0))}

    def memory_bytes(self) -> int:
        """Bytes the table occupies on disk: data, vector index and scalar indexes."""
        return directory_bytes(self._directory)

    def close(self) -> None:
        self._table = None
        if self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)
            self._directory = None


def _record_batches(dataset: Dataset) -> tuple[pa.Schema, Any]:
    """The table schema and a generator of its record batches (vectors streamed in chunks)."""
    attributes = {attr: plain_column(dataset.attributes, attr) for attr in dataset.attributes.kinds}
    fields = [pa.field(ID, pa.int64()), pa.field(VECTOR, pa.list_(pa.float32(), dataset.dimension))]
    for attr in attributes:
        arrow_type = dataset.attributes.column(attr).type
        fields.append(pa.field(attr, _plain_arrow_type(arrow_type)))
    schema = pa.schema(fields)

    def batches() -> Any:
        for start in range(0, dataset.count, WRITE_CHUNK):
            block = np.asarray(dataset.vectors[start : start + WRITE_CHUNK], dtype=np.float32)
            stop = start + len(block)
            columns = [
                pa.array(np.arange(start, stop, dtype=np.int64)),
                pa.FixedSizeListArray.from_arrays(pa.array(block.ravel()), dataset.dimension),
            ]
            columns += [
                pa.array(values[start:stop], type=field.type)
                for values, field in zip(attributes.values(), list(schema)[2:], strict=True)
            ]
            yield pa.record_batch(columns, schema=schema)

    return schema, batches()


def _plain_arrow_type(arrow_type: pa.DataType) -> pa.DataType:
    """Column type as stored: temporal values as integers (also inside lists)."""
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        return pa.list_(plain_type(arrow_type.value_type))
    return plain_type(arrow_type)


def _scalar_index(dataset: Dataset, attr: str) -> Any:
    from lancedb import index

    kind = dataset.attributes.kinds[attr]
    if kind == SET:
        return index.LabelList()
    column = dataset.attributes.column(attr)
    distinct = len(pc.unique(column))
    if pa.types.is_boolean(column.type) or (kind == CATEGORICAL and distinct <= BITMAP_MAX_VALUES):
        return index.Bitmap()
    return index.BTree()


def _scatter(out: np.ndarray, rows: list[int], result: pa.Table, k: int) -> None:
    """Write a (multi-)vector search result into the rows of `out`, nearest first."""
    ids = result.column(ID).to_numpy()
    distances = result.column("_distance").to_numpy()
    if "query_index" in result.column_names:
        positions = result.column("query_index").to_numpy()
    else:
        positions = np.zeros(len(ids), dtype=np.int64)
    order = np.lexsort((distances, positions))
    ids, positions = ids[order], positions[order]
    for position, row in enumerate(rows):
        found = ids[positions == position][:k]
        out[row, : len(found)] = found
