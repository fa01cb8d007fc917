"""NHQ (iffp/NHQ `ced5892`): `NHQ-NPG_nsw` (on n2) and `NHQ-NPG_kgraph` (on efanna), each an
`index_construction` + `query_execution` pair (files: equality_files.py). Their builds use
every core (`hardware_concurrency`) unless built with docs/fidelity.md's one-thread line (a
parallel NSW insertion order varies from run to run); their searches one thread. Index
files: `index_model` and `index_attribute_table`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from fanns_bench.data.dataset import Dataset
from fanns_bench.fidelity.adapter import Theirs
from fanns_bench.fidelity.data import Slice
from fanns_bench.fidelity.equality_files import EqualityFilesAdapter, Files

#: the weight of one differing attribute (the benchmark paper's 10^6; their program reads an int)
WEIGHT = 1_000_000
#: our rand() seeding library (fidelity/drivers/srand_preload.c), built into their build folder
SRAND_PRELOAD = "libfanns_srand.so"


def _programs(folder: str) -> dict[str, tuple[str, ...]]:
    """Their two programs under `folder` of their build (or of the repository), or at the top."""
    return {
        role: (f"{folder}/{name}", f"build/{folder}/{name}", name)
        for role, name in (("build", "index_construction"), ("search", "query_execution"))
    }


class NhqNswAdapter(EqualityFilesAdapter):
    method = "nhq_nsw"
    label_param = "attributes"
    repository = "github.com/iffp/NHQ (ced5892), NHQ-NPG_nsw"
    programs: ClassVar[dict[str, tuple[str, ...]]] = _programs("examples/cpp")
    # the benchmark paper's medium EM setting (MaxM0 = M; their NSW never reads it)
    build: ClassVar[dict[str, Any]] = {"M": 40, "ef_construction": 300}
    points: ClassVar[list[dict[str, Any]]] = [
        {"ef_search": ef, "weight_search": WEIGHT} for ef in (50, 200, 1000)
    ]

    def build_arguments(self, files: Files) -> list[Any]:
        b = self.build
        return [files.base, files.attributes, files.index, b["M"], b["M"], b["ef_construction"]]

    def search_arguments(self, files: Files, point: dict[str, Any], k: int) -> list[Any]:
        return [files.queries, files.query_attributes, files.truth, files.index, k,
                point["weight_search"], point["ef_search"]]  # fmt: skip


class NhqKgraphAdapter(EqualityFilesAdapter):
    """Their build draws from rand() without seeding it (one thread: the same graph every run,
    that of srand(1)); our `drivers/srand_preload.c`, preloaded, seeds it: build b runs with
    `FANNS_SRAND` = b + 1, the rand() stream our seed b draws from (ours with seed b is then
    their build b, list for list)."""

    method = "nhq_kgraph"
    label_param = "attributes"
    repository = "github.com/iffp/NHQ (ced5892), NHQ-NPG_kgraph"
    programs: ClassVar[dict[str, tuple[str, ...]]] = {
        **_programs("tests"),
        "seed": (SRAND_PRELOAD, f"build/{SRAND_PRELOAD}"),
    }
    seeding = "seeded"
    # the benchmark paper's medium EM setting (their B is read into an unsigned: 0.5 acts as 0,
    # as our default fractional_b: false)
    build: ClassVar[dict[str, Any]] = {
        "K": 100, "L": 80, "iter": 12, "S": 15, "R": 200, "RANGE": 70, "PL": 200, "B": 0.5, "M": 1.0,
    }  # fmt: skip
    points: ClassVar[list[dict[str, Any]]] = [
        {"L_search": width, "weight_search": WEIGHT} for width in (10, 50, 200)
    ]

    def run_build(
        self,
        programs: dict[str, Path],
        dataset: Dataset,
        slices: list[Slice],
        k: int,
        folder: Path,
        log: Path,
        seed: int,
    ) -> dict[tuple[int, int], Theirs]:
        """Their build with rand() seeded as our `seed` draws (srand(seed + 1))."""
        env = {"LD_PRELOAD": str(programs["seed"]), "FANNS_SRAND": str(seed + 1)}
        return self.run_theirs(programs, dataset, slices, k, folder, log, build_env=env)

    def build_arguments(self, files: Files) -> list[Any]:
        b = self.build
        return [files.base, files.attributes, files.index,
                *(b[name] for name in ("K", "L", "iter", "S", "R", "RANGE", "PL", "B", "M"))]  # fmt: skip

    def search_arguments(self, files: Files, point: dict[str, Any], k: int) -> list[Any]:
        return [files.base, files.queries, files.query_attributes, files.truth, files.index, k,
                point["weight_search"], point["L_search"]]  # fmt: skip


NSW = NhqNswAdapter()
KGRAPH = NhqKgraphAdapter()
