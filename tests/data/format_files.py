"""Writers of the public ANN file formats that `fanns_bench.data.importers.formats` reads:
the tests build tiny files with them (fvecs, ivecs and bin writers live in that module,
which `fanns-bench fidelity` uses for its exchange files)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fanns_bench.data.importers.formats import write_bin, write_fvecs, write_ivecs

__all__ = ["write_bin", "write_fvecs", "write_ivecs", "write_knn_result", "write_spmat"]


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
