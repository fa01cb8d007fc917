"""Writers of the public ANN file formats that `fanns_bench.data.importers.formats` reads:
the tests build tiny files with them (the harness itself only reads these formats)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fanns_bench.data.importers.formats import BIN_DTYPES


def write_fvecs(path: str | Path, matrix: np.ndarray) -> None:
    matrix = np.asarray(matrix, dtype="<f4")
    rows = np.empty((matrix.shape[0], matrix.shape[1] + 1), dtype="<i4")
    rows[:, 0] = matrix.shape[1]
    rows[:, 1:] = matrix.view("<i4")
    rows.tofile(path)


def write_ivecs(path: str | Path, rows: list[np.ndarray] | np.ndarray) -> None:
    with open(path, "wb") as handle:
        for row in rows:
            row = np.asarray(row, dtype="<i4")
            np.array([row.size], dtype="<i4").tofile(handle)
            row.tofile(handle)


def write_bin(path: str | Path, matrix: np.ndarray) -> None:
    matrix = np.ascontiguousarray(matrix, dtype=BIN_DTYPES[Path(path).suffix])
    with open(path, "wb") as handle:
        np.array(matrix.shape, dtype="<u4").tofile(handle)
        matrix.tofile(handle)


def write_knn_result(path: str | Path, ids: np.ndarray, distances: np.ndarray) -> None:
    with open(path, "wb") as handle:
        np.array(ids.shape, dtype="<u4").tofile(handle)
        np.ascontiguousarray(ids, dtype="<i4").tofile(handle)
        np.ascontiguousarray(distances, dtype="<f4").tofile(handle)


def write_spmat(path: str | Path, rows: list[list[int]], columns: int) -> None:
    indptr = np.concatenate([[0], np.cumsum([len(r) for r in rows])]).astype("<i8")
    indices = np.array([c for r in rows for c in r], dtype="<i4")
    with open(path, "wb") as handle:
        np.array([len(rows), columns, indices.size], dtype="<i8").tofile(handle)
        indptr.tofile(handle)
        indices.tofile(handle)
        np.ones(indices.size, dtype="<f4").tofile(handle)
