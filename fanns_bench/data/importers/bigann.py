"""Importer for the big-ann-benchmarks filter track layout (e.g. YFCC-10M).

Files: base vectors (`.fbin`/`.u8bin`/`.i8bin`), base labels (`.spmat`: row i's non-zero
columns are item i's labels), query vectors, query labels (`.spmat`), and ground truth
(`.ibin`: ids then distances). Item labels become the set attribute `labels`
(list<int64> of column numbers, or list<string> with a `vocabulary` file whose line j names
column j). A query's label set becomes ContainsAll("labels", its labels): the track's
rule that a result must carry every query label. A query without labels is unfiltered.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from fanns_bench.data.dataset import Dataset, write_dataset
from fanns_bench.data.importers.common import workload_table, write_workload
from fanns_bench.data.importers.formats import read_bin, read_knn_result, read_spmat
from fanns_bench.errors import DatasetError
from fanns_bench.filters.predicates import ContainsAll, Predicate

WORKLOAD_FILE = "workloads/bigann.parquet"
MAX_LIST_OFFSET = 2**31 - 1


def build(
    path: Path,
    name: str,
    *,
    base: str,
    base_labels: str,
    queries: str,
    query_labels: str,
    ground_truth: str | None = None,
    vocabulary: str | None = None,
    metric: str = "l2",
    normalize: bool = False,
) -> Dataset:
    """Builder `bigann_filter`: import the files into the store at `path`."""
    vectors = read_bin(base)
    query_vectors = read_bin(queries)
    names = _vocabulary(vocabulary)
    labels = label_column(base_labels, vectors.shape[0], names)
    query_sets = label_sets(query_labels, query_vectors.shape[0], names)
    dataset = write_dataset(
        Path(path),
        name=name,
        vectors=vectors,
        queries=query_vectors,
        attributes=pa.table({"labels": labels}),
        metric=metric,
        builder="bigann_filter",
        extra={
            "format": "big-ann-benchmarks filter track",
            "files": {
                "base": str(base),
                "base_labels": str(base_labels),
                "queries": str(queries),
                "query_labels": str(query_labels),
                "ground_truth": str(ground_truth) if ground_truth else None,
            },
            "normalized_on_import": normalize,
        },
        normalize=normalize,
    )
    predicates: list[Predicate | None] = [
        ContainsAll("labels", tuple(values)) if values else None for values in query_sets
    ]
    gt_rows = _ground_truth(ground_truth, len(predicates))
    table = workload_table("contains_all", predicates, gt_rows, dataset.attributes)
    write_workload(table, Path(path) / WORKLOAD_FILE)
    return dataset


def label_column(path: str | Path, rows: int, names: list[str] | None) -> pa.Array:
    """The `labels` list column built straight from the CSR arrays (no per-row Python)."""
    indptr, indices, columns = read_spmat(path)
    _check_rows(path, indptr, rows)
    if names is not None and len(names) < columns:
        raise DatasetError(f"{path}: {columns} label columns but the vocabulary has {len(names)}")
    values = pa.array(indices.astype(np.int64)) if names is None else pa.array(names).take(indices)
    if indptr[-1] > MAX_LIST_OFFSET:
        return pa.LargeListArray.from_arrays(pa.array(indptr, pa.int64()), values)
    return pa.ListArray.from_arrays(pa.array(indptr.astype(np.int32)), values)


def label_sets(path: str | Path, rows: int, names: list[str] | None) -> list[list]:
    """Each query's labels (column numbers, or names with a vocabulary)."""
    indptr, indices, _ = read_spmat(path)
    _check_rows(path, indptr, rows)
    sets = [indices[indptr[i] : indptr[i + 1]].tolist() for i in range(rows)]
    return sets if names is None else [[names[j] for j in row] for row in sets]


def _ground_truth(path: str | None, count: int) -> list[np.ndarray]:
    if path is None:
        return [np.empty(0, np.int64)] * count
    ids, _ = read_knn_result(path)
    if ids.shape[0] != count:
        raise DatasetError(f"{path}: ground truth for {ids.shape[0]} queries, expected {count}")
    return [row[row >= 0] for row in ids]


def _vocabulary(path: str | None) -> list[str] | None:
    if path is None:
        return None
    file = Path(path)
    if not file.is_file():
        raise DatasetError(f"{file}: vocabulary file not found")
    return file.read_text(encoding="utf-8").splitlines()


def _check_rows(path: str | Path, indptr: np.ndarray, rows: int) -> None:
    if indptr.size - 1 != rows:
        raise DatasetError(f"{path}: {indptr.size - 1} label rows but {rows} vectors")
