"""Filtered-DiskANN worker: runs in the diskannpy environment (imports numpy and diskannpy only).

Loaded by `fanns_bench/methods/envs/worker_main.py`; see `method.py` for the main side.
Label tokens: >= 0 a label, -1 a value no item carries (no result), -2 unfiltered search.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

INPUT_COPIES = ("ann_vectors.bin", "ann_pylabels.txt")  # diskannpy's copies of our inputs


class Worker:
    """Builds one FilteredVamana index and answers single-label searches on it."""

    def __init__(self, workdir: str) -> None:
        self.workdir = Path(workdir)
        self.index_dir = self.workdir / "index"
        self.index = None
        self.count = 0

    def build(
        self,
        vectors: str,
        label_offsets: str,
        label_tokens: str,
        distance: str,
        graph_degree: int,
        complexity: int,
        filter_complexity: int,
        alpha: float,
        threads: int,
    ) -> dict:
        import diskannpy

        data = np.load(vectors, mmap_mode="r")
        offsets, tokens = np.load(label_offsets), np.load(label_tokens)
        labels = [
            [str(t) for t in tokens[offsets[i] : offsets[i + 1]].tolist()] for i in range(len(data))
        ]
        self.index_dir.mkdir(exist_ok=True)
        started = time.perf_counter()
        diskannpy.build_memory_index(
            data=np.ascontiguousarray(data, dtype=np.float32),
            distance_metric=distance,
            index_directory=str(self.index_dir),
            complexity=complexity,
            graph_degree=graph_degree,
            num_threads=threads,
            alpha=alpha,
            filter_labels=labels,
            universal_label="",
            filter_complexity=filter_complexity,
        )
        self.index = diskannpy.StaticMemoryIndex(
            index_directory=str(self.index_dir),
            num_threads=threads,
            initial_search_complexity=max(complexity, 10),
            enable_filters=True,
        )
        self.count = len(data)
        return {
            "library_build_seconds": time.perf_counter() - started,
            "index_bytes": self._index_bytes(),
            "diskannpy_version": diskannpy.__dict__.get("__version__", "0.7.0"),
        }

    def search(self, queries: str, labels: str, k: int, complexity: int, out: str) -> dict:
        vectors = np.ascontiguousarray(np.load(queries), dtype=np.float32)
        tokens = np.load(labels)
        ids = np.full((len(vectors), k), -1, dtype=np.int64)
        complexity = max(complexity, k)
        started = time.perf_counter()
        for row, (query, token) in enumerate(zip(vectors, tokens.tolist(), strict=True)):
            if token == -1:
                continue
            label = "" if token == -2 else str(token)
            found = self.index.search(query, k, complexity, filter_label=label).identifiers
            found = found[found < self.count]
            ids[row, : len(found)] = found
        seconds = time.perf_counter() - started
        np.save(out, ids)
        return {"worker_search_seconds": seconds}

    def memory(self) -> dict:
        return {"index_bytes": self._index_bytes(), "rss_bytes": _rss_bytes()}

    def _index_bytes(self) -> int:
        files = [f for f in self.index_dir.iterdir() if f.name not in INPUT_COPIES]
        return sum(f.stat().st_size for f in files)


def _rss_bytes() -> int:
    try:
        with open(f"/proc/{os.getpid()}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0
