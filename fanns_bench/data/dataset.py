"""The on-disk dataset store: memory-mapped vectors, typed Parquet attributes, a manifest.

Layout of one dataset directory::

    manifest.json        name, builder, metric, dimension, counts, content hashes
    .file-hashes.json    the files' current hashes, cached by file identity (file_hashes.py)
    vectors.npy          float32 (count x dimension), memory-mapped on load
    queries.npy          float32 held-out query vectors of the same distribution
    attributes.parquet   one row per vector, typed columns
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from fanns_bench.atomic_files import write_text_atomic
from fanns_bench.data.file_hashes import current_hashes
from fanns_bench.errors import DatasetError
from fanns_bench.filters.attribute_index import AttributeIndex
from fanns_bench.filters.evaluate import AttributeTable

METRICS = ("ip", "l2")
FILES = ("vectors.npy", "queries.npy", "attributes.parquet")
NORM_TOLERANCE = 1e-3
CHECK_ROWS = 65536
BLOCK_ROWS = 65536


@dataclass
class Dataset:
    """A built dataset: vectors, held-out queries, attributes and its manifest."""

    path: Path
    manifest: dict[str, Any]
    vectors: np.ndarray
    queries: np.ndarray
    attributes: AttributeTable
    file_hashes: dict[str, str]  # sha256 of each file as it is now (checked at load)

    @property
    def name(self) -> str:
        return self.manifest["name"]

    @property
    def metric(self) -> str:
        return self.manifest["metric"]

    @property
    def dimension(self) -> int:
        return int(self.manifest["dimension"])

    @property
    def count(self) -> int:
        return int(self.manifest["count"])

    @cached_property
    def attribute_index(self) -> AttributeIndex:
        """Posting lists and sorted permutations over the attributes (built on first use)."""
        return AttributeIndex(self.attributes)

    @property
    def content_hash(self) -> str:
        """One hash over the files' content as it is now (not as the manifest recorded it),
        so rows, workloads and ground truth of an edited dataset never pass for the original's."""
        return content_hash(self.file_hashes)

    @property
    def edited(self) -> list[str]:
        """Files whose content differs from the hash the manifest recorded at build time."""
        return [f for f in FILES if self.file_hashes[f] != self.manifest["hashes"].get(f)]

    def edit_note(self) -> str | None:
        """One line naming the edited files and what follows from the edit (None if none)."""
        if not self.edited:
            return None
        files = ", ".join(str(self.path / f) for f in self.edited)
        return (
            f"dataset {self.name!r}: {files} changed since the dataset was built (content differs "
            "from manifest.json): runs use the current content under a new dataset_hash, with "
            "their own workload and ground truth; rebuild the dataset (delete the folder and "
            "rerun) if the change was not meant"
        )


def content_hash(file_hashes: dict[str, str]) -> str:
    """One short hash over the sha256 of each of the dataset's files."""
    return hashlib.sha256("".join(file_hashes[f] for f in FILES).encode()).hexdigest()[:16]


def current_content_hash(path: str | Path) -> str:
    """`content_hash` of the dataset at `path` as its files are now (without loading it)."""
    return content_hash(current_hashes(Path(path), FILES))


def write_dataset(
    path: str | Path,
    *,
    name: str,
    vectors: np.ndarray,
    queries: np.ndarray,
    attributes: pa.Table,
    metric: str,
    builder: str,
    extra: dict[str, Any] | None = None,
    normalize: bool = False,
    block_rows: int = BLOCK_ROWS,
) -> Dataset:
    """Write a dataset atomically (into a temporary sibling, then rename) and load it back.

    `vectors` and `queries` may be any 2-d arrays, including strided memory-mapped views of
    a source file: they are copied `block_rows` rows at a time into memory-mapped float32
    `.npy` files, so memory holds one block, never a second copy of the matrix. `normalize`
    L2-normalises each row on the way (all-zero rows stay zero).
    """
    path = Path(path)
    if metric not in METRICS:
        raise DatasetError(f"metric {metric!r} of dataset {name!r} is not one of {METRICS}")
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        for label, matrix in (("vectors", vectors), ("queries", queries)):
            _write_matrix(matrix, staging / f"{label}.npy", block_rows, normalize)
        pq.write_table(attributes, staging / "attributes.parquet")
        manifest = {
            "name": name,
            "builder": builder,
            "metric": metric,
            "dimension": int(vectors.shape[1]),
            "count": int(vectors.shape[0]),
            "query_count": int(queries.shape[0]),
            "attributes": {f.name: str(f.type) for f in attributes.schema},
            "hashes": current_hashes(staging, FILES),  # also caches them for the loads
            **(extra or {}),
        }
        write_json_atomic(staging / "manifest.json", manifest)
        if _same_files(path, manifest["hashes"]):  # a concurrent job built the same dataset first
            shutil.rmtree(staging)
            return load_dataset(path)
        if path.exists():
            shutil.rmtree(path)
        os.replace(staging, path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return load_dataset(path)


def _same_files(path: Path, hashes: dict[str, str]) -> bool:
    """`path` holds a complete dataset whose files hash to `hashes`."""
    try:
        recorded = json.loads((path / "manifest.json").read_text()).get("hashes")
        return recorded == hashes and current_hashes(path, FILES) == hashes
    except (OSError, ValueError):
        return False


def _write_matrix(matrix: np.ndarray, target: Path, block_rows: int, normalize: bool) -> None:
    """Copy a non-empty 2-d matrix into a float32 `.npy` file, `block_rows` rows at a time."""
    if matrix.ndim != 2 or matrix.shape[0] == 0:
        raise DatasetError(f"{target.stem}: expected a non-empty 2-d matrix, got {matrix.shape}")
    out = np.lib.format.open_memmap(target, mode="w+", dtype=np.float32, shape=matrix.shape)
    for start in range(0, matrix.shape[0], block_rows):
        block = np.asarray(matrix[start : start + block_rows], dtype=np.float32)
        if normalize:
            norms = np.linalg.norm(block, axis=1, keepdims=True)
            block = block / np.where(norms > 0, norms, 1.0)
        out[start : start + block_rows] = block
    out.flush()
    del out


def load_dataset(path: str | Path, *, verify_hashes: bool = False) -> Dataset:
    """Load and validate a dataset; any problem raises `DatasetError` naming the file.

    The files' content hashes are always taken (cached by file identity, see
    `file_hashes.py`): the dataset's `content_hash` is its real content. `verify_hashes`
    also rejects files whose content differs from the manifest's hashes.
    """
    path = Path(path)
    manifest_path = path / "manifest.json"
    if not manifest_path.is_file():
        raise DatasetError(f"{manifest_path}: no manifest; is {path} a built dataset?")
    try:
        manifest = json.loads(manifest_path.read_text())
    except json.JSONDecodeError as error:
        raise DatasetError(f"{manifest_path}: not valid JSON ({error})") from None
    for key in ("name", "metric", "dimension", "count", "hashes"):
        if key not in manifest:
            raise DatasetError(f"{manifest_path}: missing field {key!r}")
    if manifest["metric"] not in METRICS:
        raise DatasetError(f"{manifest_path}: metric {manifest['metric']!r} not in {METRICS}")
    if not isinstance(manifest["hashes"], dict):
        raise DatasetError(f"{manifest_path}: field 'hashes' must map file names to sha256 hex digests")
    for file in FILES:
        if not (path / file).is_file():
            raise DatasetError(f"{path / file}: missing (the manifest lists it)")
    hashes = current_hashes(path, FILES)
    for file in FILES:
        if verify_hashes and hashes[file] != manifest["hashes"].get(file):
            raise DatasetError(f"{path / file}: content hash differs from the manifest")
    vectors = _load_matrix(path / "vectors.npy", manifest)
    queries = _load_matrix(path / "queries.npy", manifest)
    if vectors.shape[0] != manifest["count"]:
        raise DatasetError(
            f"{path / 'vectors.npy'}: {vectors.shape[0]} rows, manifest says {manifest['count']}"
        )
    attributes = _load_attributes(path / "attributes.parquet", vectors.shape[0])
    return Dataset(path, manifest, vectors, queries, attributes, hashes)


def _load_matrix(file: Path, manifest: dict[str, Any]) -> np.ndarray:
    try:
        matrix = np.load(file, mmap_mode="r")
    except (ValueError, OSError) as error:
        raise DatasetError(f"{file}: not a readable .npy file ({error})") from None
    if matrix.dtype != np.float32 or matrix.ndim != 2:
        raise DatasetError(f"{file}: expected a 2-d float32 array, found {matrix.ndim}-d {matrix.dtype}")
    if matrix.shape[1] != manifest["dimension"]:
        raise DatasetError(f"{file}: dimension {matrix.shape[1]}, manifest says {manifest['dimension']}")
    check_vectors(matrix, manifest["metric"], str(file))
    return matrix


def check_vectors(matrix: np.ndarray, metric: str, where: str) -> None:
    """Reject NaN/inf, and vectors that are not unit length for the `ip` metric."""
    for start in range(0, matrix.shape[0], CHECK_ROWS):
        block = np.asarray(matrix[start : start + CHECK_ROWS], dtype=np.float32)
        finite = np.isfinite(block).all(axis=1)
        if not finite.all():
            row = start + int(np.flatnonzero(~finite)[0])
            raise DatasetError(f"{where}: row {row} holds NaN or infinite values")
        if metric == "ip":
            norms = np.linalg.norm(block, axis=1)
            bad = np.flatnonzero(np.abs(norms - 1.0) > NORM_TOLERANCE)
            if bad.size:
                row = start + int(bad[0])
                raise DatasetError(
                    f"{where}: row {row} has norm {norms[bad[0]]:.4f}; metric 'ip' needs "
                    "L2-normalised vectors (normalise them, or use metric 'l2')"
                )


def _load_attributes(file: Path, count: int) -> AttributeTable:
    try:
        table = pq.read_table(file)
    except (pa.ArrowInvalid, OSError) as error:
        raise DatasetError(f"{file}: not a readable Parquet file ({error})") from None
    if table.num_rows != count:
        raise DatasetError(f"{file}: {table.num_rows} rows, but there are {count} vectors")
    return AttributeTable(table)


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON to a temporary sibling, then rename it into place."""
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=True, default=str))
