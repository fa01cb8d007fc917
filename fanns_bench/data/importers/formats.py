"""Binary vector and ground-truth formats of the public ANN datasets, memory-mapped where large.
Readers for the importers; writers (`write_fvecs`, `write_ivecs`, `write_bin`) for the
exchange files `fanns-bench fidelity` hands to the authors' programs.

- `.fvecs` / `.ivecs` (TEXMEX, used by arxiv-for-fanns): per row `int32 n` then n values,
  little-endian. fvecs rows share one width; ivecs ground-truth rows may differ in length.
- `.fbin` / `.u8bin` / `.i8bin` / `.ibin` (big-ann-benchmarks): `uint32 rows, uint32 cols`,
  then rows x cols values.
- big-ann-benchmarks ground truth (`.ibin` GT files): `uint32 n, uint32 k`, n x k int32 ids,
  then n x k float32 distances.
- `.spmat` (big-ann-benchmarks CSR): `int64 rows, cols, nnz`, int64 indptr (rows + 1),
  int32 indices (nnz), float32 data (nnz).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fanns_bench.errors import DatasetError

BIN_DTYPES = {".fbin": "<f4", ".u8bin": "u1", ".i8bin": "i1", ".ibin": "<i4"}


def write_fvecs(path: str | Path, matrix: np.ndarray) -> None:
    """`matrix` (rows x dim) as .fvecs."""
    matrix = np.asarray(matrix, dtype="<f4")
    rows = np.empty((matrix.shape[0], matrix.shape[1] + 1), dtype="<i4")
    rows[:, 0] = matrix.shape[1]
    rows[:, 1:] = matrix.view("<i4")
    rows.tofile(path)


def write_ivecs(path: str | Path, rows: list[np.ndarray] | np.ndarray) -> None:
    """One .ivecs row per entry of `rows` (rows may differ in length)."""
    with open(path, "wb") as handle:
        for row in rows:
            row = np.asarray(row, dtype="<i4")
            np.array([row.size], dtype="<i4").tofile(handle)
            row.tofile(handle)


def write_bin(path: str | Path, matrix: np.ndarray, dtype: str | None = None) -> None:
    """`uint32 rows, uint32 cols` then the values (dtype from the suffix unless given)."""
    matrix = np.ascontiguousarray(matrix, dtype=dtype or BIN_DTYPES[Path(path).suffix])
    with open(path, "wb") as handle:
        np.array(matrix.shape, dtype="<u4").tofile(handle)
        matrix.tofile(handle)


def read_fvecs(path: str | Path) -> np.ndarray:
    """(rows, dim) float32 view over a memory-mapped .fvecs file (nothing is read whole)."""
    path = Path(path)
    raw = _memmap(path, "<i4")
    dimension = int(raw[0])
    width = dimension + 1
    if dimension < 1 or raw.size % width:
        raise DatasetError(
            f"{path}: first row says dimension {dimension}, but {raw.size * 4} bytes are not a "
            f"whole number of {width * 4}-byte rows"
        )
    rows = raw.reshape(-1, width)
    probe = np.unique([0, rows.shape[0] // 2, rows.shape[0] - 1])
    if np.any(rows[probe, 0] != dimension):
        bad = int(probe[np.flatnonzero(rows[probe, 0] != dimension)[0]])
        raise DatasetError(f"{path}: row {bad} has dimension {int(rows[bad, 0])}, not {dimension}")
    return rows[:, 1:].view("<f4")


def read_ivecs(path: str | Path) -> list[np.ndarray]:
    """Rows of an .ivecs file as int64 arrays; rows may differ in length (ground truth)."""
    path = Path(path)
    raw = np.fromfile(_existing(path), dtype="<i4")
    rows, position = [], 0
    while position < raw.size:
        length = int(raw[position])
        end = position + 1 + length
        if length < 0 or end > raw.size:
            raise DatasetError(
                f"{path}: row {len(rows)} claims {length} ids at int32 offset {position}, "
                f"but the file ends at {raw.size}"
            )
        rows.append(raw[position + 1 : end].astype(np.int64))
        position = end
    return rows


def read_bin(path: str | Path) -> np.ndarray:
    """(rows, cols) memory-mapped view of a big-ann-benchmarks `.fbin/.u8bin/.i8bin/.ibin`."""
    path = Path(path)
    dtype = _bin_dtype(path)
    rows, cols = (int(v) for v in np.fromfile(_existing(path), dtype="<u4", count=2))
    expected = 8 + rows * cols * np.dtype(dtype).itemsize
    if path.stat().st_size != expected:
        raise DatasetError(
            f"{path}: header says {rows} x {cols} {np.dtype(dtype)}, i.e. {expected} bytes; "
            f"the file has {path.stat().st_size}"
        )
    return np.memmap(path, dtype=dtype, mode="r", offset=8, shape=(rows, cols))


def read_knn_result(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """big-ann-benchmarks ground truth: (ids int64 n x k, distances float32 n x k)."""
    path = Path(path)
    n, k = (int(v) for v in np.fromfile(_existing(path), dtype="<u4", count=2))
    expected = 8 + n * k * 8
    if path.stat().st_size != expected:
        raise DatasetError(
            f"{path}: header says {n} queries x {k} neighbours ({expected} bytes with ids and "
            f"distances); the file has {path.stat().st_size}"
        )
    ids = np.fromfile(path, dtype="<i4", count=n * k, offset=8).reshape(n, k)
    distances = np.fromfile(path, dtype="<f4", count=n * k, offset=8 + n * k * 4).reshape(n, k)
    return ids.astype(np.int64), distances


def read_spmat(path: str | Path) -> tuple[np.ndarray, np.ndarray, int]:
    """A CSR `.spmat` as (indptr int64, indices int32, columns); the data values are ignored."""
    path = Path(path)
    header = np.fromfile(_existing(path), dtype="<i8", count=3)
    if header.size != 3:
        raise DatasetError(f"{path}: too short for an .spmat header (3 x int64)")
    rows, columns, nnz = (int(v) for v in header)
    expected = 24 + (rows + 1) * 8 + nnz * 8
    if path.stat().st_size != expected:
        raise DatasetError(
            f"{path}: header says {rows} rows, {nnz} non-zeros ({expected} bytes); "
            f"the file has {path.stat().st_size}"
        )
    indptr = np.fromfile(path, dtype="<i8", count=rows + 1, offset=24)
    indices = np.fromfile(path, dtype="<i4", count=nnz, offset=24 + (rows + 1) * 8)
    if indptr[0] != 0 or indptr[-1] != nnz or np.any(np.diff(indptr) < 0):
        raise DatasetError(f"{path}: indptr is not a non-decreasing 0..{nnz} sequence")
    if nnz and (indices.min() < 0 or indices.max() >= columns):
        raise DatasetError(f"{path}: a column index lies outside 0..{columns - 1}")
    return indptr, indices, columns


def _bin_dtype(path: Path) -> str:
    if path.suffix not in BIN_DTYPES:
        raise DatasetError(f"{path}: unknown binary vector suffix; expected one of {list(BIN_DTYPES)}")
    return BIN_DTYPES[path.suffix]


def _existing(path: Path) -> Path:
    if not path.is_file():
        raise DatasetError(f"{path}: file not found")
    return path


def _memmap(path: Path, dtype: str) -> np.ndarray:
    if _existing(path).stat().st_size < 4:
        raise DatasetError(f"{path}: empty or truncated file")
    return np.memmap(path, dtype=dtype, mode="r")
