"""CAPS (iffp/CAPS `20cf048`): `index_construction` + `query_execution` with faiss k-means
(files: equality_files.py). Their programs take `<metric> <mode> <algo>`: `L2 0 kmeans` (the
k-means path reads neither metric nor mode); the index is the folder `index`; `n_probe` is
the distance budget m (our `max_distances`). Their build clusters on every core; their query
loop runs on one thread.
"""

from __future__ import annotations

from typing import Any, ClassVar

from fanns_bench.fidelity.equality_files import EqualityFilesAdapter, Files

ALGORITHM = ["L2", 0, "kmeans"]


class CapsAdapter(EqualityFilesAdapter):
    method = "caps"
    repository = "github.com/iffp/CAPS (20cf048)"
    programs: ClassVar[dict[str, tuple[str, ...]]] = {
        role: (name, f"build/{name}")
        for role, name in (("build", "index_construction"), ("search", "query_execution"))
    }
    # the benchmark paper's medium EM setting (B = 128)
    build: ClassVar[dict[str, Any]] = {"clusters": 128}
    points: ClassVar[list[dict[str, Any]]] = [{"max_distances": m} for m in (200, 1000, 5000)]

    def build_arguments(self, files: Files) -> list[Any]:
        return [files.base, files.attributes, files.index, self.build["clusters"], *ALGORITHM]

    def search_arguments(self, files: Files, point: dict[str, Any], k: int) -> list[Any]:
        return [files.base, files.attributes, files.queries, files.query_attributes, files.truth, files.index,
                *ALGORITHM, self.build["clusters"], point["max_distances"], k]  # fmt: skip


ADAPTER = CapsAdapter()
