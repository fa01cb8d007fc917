"""Filtered-DiskANN worker: runs in the diskannpy environment (imports numpy and diskannpy only).

Loaded by `fanns_bench/envs/child_loop.py`; see `method.py` for the main side.
One FilteredVamana index per label attribute (as the paper builds one per filter type);
each query names the index (its attribute) and a label token: >= 0 a label (passed to
diskannpy as "L<token>"), -1 a value no item carries (no result), -2 unfiltered search.

diskannpy 0.7.0 drops the result count of the C++ search: when a filtered search finds
fewer than k points, the tail of the returned arrays is uninitialised memory (ids out of
range, or stale ids and distances of an earlier query). `_found_prefix` keeps the leading
results that are real: id in range, carrying the label, and the returned distance equal to
the distance recomputed from the vectors. Nothing the index returned is dropped otherwise.
"""

from __future__ import annotations

import os
import time
from importlib.metadata import version
from pathlib import Path

import numpy as np

INPUT_COPIES = ("ann_vectors.bin", "ann_pylabels.txt")  # diskannpy's copies of our inputs
NO_LABEL, UNFILTERED = -1, -2


class Worker:
    """Builds one FilteredVamana index per label attribute and answers single-label searches."""

    def __init__(self, workdir: str) -> None:
        self.workdir = Path(workdir)
        self.indexes: list = []
        self.labels: list[tuple[np.ndarray, np.ndarray]] = []

    def build(
        self,
        vectors: str,
        label_files: list[list[str]],
        distance: str,
        graph_degree: int,
        complexity: int,
        filter_complexity: int,
        alpha: float,
        threads: int,
    ) -> dict:
        """One index per (offsets.npy, tokens.npy) pair of `label_files`, on the same vectors."""
        import diskannpy

        self.vectors = np.load(vectors, mmap_mode="r")
        self.distance = distance
        data_file = _write_bin(self.vectors, self.workdir / "vectors.bin")
        started = time.perf_counter()
        for number, (offsets_file, tokens_file) in enumerate(label_files):
            offsets, tokens = np.load(offsets_file), np.load(tokens_file)
            if len(offsets) != len(self.vectors) + 1:
                raise ValueError(f"{vectors}: {len(self.vectors)} rows, {len(offsets) - 1} labels")
            labels = [
                [f"L{t}" for t in tokens[offsets[i] : offsets[i + 1]].tolist()]
                for i in range(len(offsets) - 1)
            ]
            index_dir = self.workdir / f"index{number}"
            index_dir.mkdir(exist_ok=True)
            diskannpy.build_memory_index(
                data=str(data_file),
                vector_dtype=np.float32,
                distance_metric=distance,
                index_directory=str(index_dir),
                complexity=complexity,
                graph_degree=graph_degree,
                num_threads=threads,
                alpha=alpha,
                filter_labels=labels,
                universal_label="",
                filter_complexity=filter_complexity,
            )
            index = diskannpy.StaticMemoryIndex(
                index_directory=str(index_dir),
                num_threads=threads,
                initial_search_complexity=max(complexity, 10),
                enable_filters=True,
            )
            self.indexes.append(index)
            self.labels.append((offsets, tokens))
        return {
            "library_build_seconds": time.perf_counter() - started,
            "index_bytes": self._index_bytes(),
            "diskannpy_version": version("diskannpy"),
        }

    def search(self, queries: str, groups: str, labels: str, k: int, complexity: int, out: str) -> dict:
        """`groups[i]`: the index answering query i; `labels[i]`: its token (see module doc)."""
        vectors = np.ascontiguousarray(np.load(queries), dtype=np.float32)
        routes = zip(vectors, np.load(groups).tolist(), np.load(labels).tolist(), strict=True)
        ids = np.full((len(vectors), k), -1, dtype=np.int64)
        complexity = max(complexity, k)
        started = time.perf_counter()
        for row, (query, group, token) in enumerate(routes):
            if token == NO_LABEL:
                continue
            label = "" if token == UNFILTERED else f"L{token}"
            found = self.indexes[group].search(query, k, complexity, filter_label=label)
            kept = self._found_prefix(query, group, token, found.identifiers, found.distances)
            ids[row, : len(kept)] = kept
        seconds = time.perf_counter() - started
        np.save(out, ids)
        return {"worker_search_seconds": seconds}

    def memory(self) -> dict:
        return {"index_bytes": self._index_bytes(), "rss_bytes": _rss_bytes()}

    def _found_prefix(
        self, query: np.ndarray, group: int, token: int, ids: np.ndarray, distances: np.ndarray
    ) -> np.ndarray:
        """The leading real results (see module docstring)."""
        ids = ids.astype(np.int64)
        valid = ids < len(self.vectors)
        if token != UNFILTERED:
            valid &= [
                bool(ok) and self._has_label(group, i, token)
                for i, ok in zip(ids.tolist(), valid.tolist(), strict=True)
            ]
        safe = np.where(valid, ids, 0)
        expected = _distances(query, np.asarray(self.vectors[safe]), self.distance)
        valid &= np.abs(expected - distances) <= 1e-3 * np.maximum(1.0, np.abs(expected))
        end = len(ids) if valid.all() else int(np.argmin(valid))
        return ids[:end]

    def _has_label(self, group: int, item: int, token: int) -> bool:
        offsets, tokens = self.labels[group]
        return token in tokens[offsets[item] : offsets[item + 1]]

    def _index_bytes(self) -> int:
        """Every index's loaded files (each holds its own copy of the vectors)."""
        files = [f for f in self.workdir.glob("index*/*") if f.name not in INPUT_COPIES]
        return sum(f.stat().st_size for f in files)


def _distances(query: np.ndarray, items: np.ndarray, distance: str) -> np.ndarray:
    """The distances diskannpy reports: squared L2, inner product, or 1 - cosine."""
    if distance == "l2":
        return ((items - query) ** 2).sum(axis=1)
    products = items @ query
    if distance == "mips":
        return products
    norms = np.linalg.norm(items, axis=1) * np.linalg.norm(query)
    return 1.0 - products / np.maximum(norms, 1e-30)


def _write_bin(data: np.ndarray, target: Path, rows_per_chunk: int = 65536) -> Path:
    """Stream a float32 matrix into DiskANN's .bin format (int32 n, int32 d, rows)."""
    with open(target, "wb") as handle:
        np.array(data.shape, dtype=np.int32).tofile(handle)
        for start in range(0, len(data), rows_per_chunk):
            chunk = data[start : start + rows_per_chunk]
            np.ascontiguousarray(chunk, dtype=np.float32).tofile(handle)
    return target


def _rss_bytes() -> int:
    try:
        with open(f"/proc/{os.getpid()}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0
