"""ACORN-γ and ACORN-1 (TAG-Research/ACORN): the authors ship a library, so the program is our
driver `drivers/acorn_driver.cpp` compiled against their build (docs/fidelity.md); ACORN-1
(`acorn_1_ref`) is the same driver with γ = 1 and M_β = 2M.

Inputs: `base.fvecs`, `queries_<s>.fvecs`, `filter_<s>.u8` (nq x N bytes, 1 where the item
matches: ACORN's `filter_id_map`). Outputs: `ids_<s>_ef<E>.ivecs` (k ids per query) and
`ef=E cpu_seconds=C wall_seconds=W` on stdout (CPU time of the search call, one thread).
Ranges on `position` as for SeRF; the driver builds on one thread with the level generator
seeded with `seed` (build b of `--builds N` passes seed b to both sides). Our `_ref` core uses
the reference's generators, so build b is the same graph on both sides (up to float rounding).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from fanns_bench.data.dataset import Dataset
from fanns_bench.data.importers.formats import read_ivecs, write_fvecs
from fanns_bench.errors import DatasetError
from fanns_bench.fidelity.adapter import RangeAdapter, Theirs, checked_ids, selectivity_tag
from fanns_bench.fidelity.data import Slice
from fanns_bench.fidelity.reference import ReferenceError, run_program

LINE = re.compile(r"ef=(\d+) cpu_seconds=([0-9.eE+-]+) wall_seconds=([0-9.eE+-]+)")


class AcornAdapter(RangeAdapter):
    method = "acorn_gamma_ref"
    repository = "github.com/TAG-Research/ACORN (8cbf16d), through drivers/acorn_driver.cpp"
    programs: ClassVar[dict[str, tuple[str, ...]]] = {"driver": ("acorn_driver", "build/acorn_driver")}
    # the benchmark paper's arxiv-medium R point (Table 4)
    build: ClassVar[dict[str, Any]] = {"M": 32, "gamma": 12, "M_beta": 24, "seed": 0, "deterministic": True}
    points: ClassVar[list[dict[str, Any]]] = [{"ef_search": ef} for ef in (16, 64, 256)]
    qps_clock = "CPU time on both sides (theirs: std::clock around their search call)"
    seeding = "seeded"

    def driver_params(self, seed: int) -> tuple[int, int, int, int]:
        """The driver's M, gamma, M_beta and seed."""
        b = self.build
        return b["M"], b["gamma"], b["M_beta"], seed

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
        return self.run_theirs(programs, dataset, slices, k, folder, log, seed)

    def run_theirs(
        self,
        programs: dict[str, Path],
        dataset: Dataset,
        slices: list[Slice],
        k: int,
        folder: Path,
        log: Path,
        seed: int | None = None,
    ) -> dict[tuple[int, int], Theirs]:
        """As `Adapter.run_theirs`; `seed` defaults to the grid's."""
        seed = self.build["seed"] if seed is None else seed
        write_fvecs(folder / "base.fvecs", dataset.vectors)
        efs = [p["ef_search"] for p in self.points]
        answers: dict[tuple[int, int], Theirs] = {}
        for s, slice_ in enumerate(slices):
            tag = selectivity_tag(slice_)
            write_fvecs(folder / f"queries_{tag}.fvecs", slice_.queries)
            mask = np.zeros((len(slice_.queries), dataset.count), dtype=np.uint8)
            for row, matches in enumerate(slice_.match_ids):
                mask[row, matches] = 1
            mask.tofile(folder / f"filter_{tag}.u8")
            stdout = run_program(
                [programs["driver"], folder / "base.fvecs", folder / f"queries_{tag}.fvecs",
                 folder / f"filter_{tag}.u8", *self.driver_params(seed),
                 ",".join(map(str, efs)), k, folder / f"ids_{tag}_ef"],
                log,
            )  # fmt: skip
            timed = {int(ef): float(cpu) for ef, cpu, _ in LINE.findall(stdout)}
            for p, ef in enumerate(efs):
                if ef not in timed:
                    raise ReferenceError(
                        f"{programs['driver']}: no 'ef={ef} cpu_seconds=...' line, cannot parse ({log})"
                    )
                ids = _read_ids(folder / f"ids_{tag}_ef{ef}.ivecs", len(slice_.queries), k, dataset.count)
                cpu = timed[ef]
                answers[s, p] = Theirs(ids, None, len(slice_.queries) / cpu if cpu > 0 else None)
        return answers


def _read_ids(path: Path, queries: int, k: int, items: int) -> np.ndarray:
    """(queries, k) ids from the driver's ivecs (ids outside [0, items) become -1)."""
    try:
        rows = read_ivecs(path)
    except (DatasetError, OSError, ValueError) as error:
        raise ReferenceError(f"{path}: cannot parse the driver's ids ({error})") from None
    if len(rows) != queries or any(len(r) != k for r in rows):
        raise ReferenceError(f"{path}: expected {queries} rows of {k} ids, cannot parse")
    return checked_ids(np.asarray(rows), items)


class Acorn1RefAdapter(AcornAdapter):
    """ACORN-1 (`acorn_1_ref`): the same driver with gamma = 1 and M_beta = 2M (the authors' demo)."""

    method = "acorn_1_ref"
    build: ClassVar[dict[str, Any]] = {"M": 32, "M_beta": 64, "seed": 0, "deterministic": True}

    def driver_params(self, seed: int) -> tuple[int, int, int, int]:
        b = self.build
        return b["M"], 1, b["M_beta"], seed


ADAPTER = AcornAdapter()
ACORN_1 = Acorn1RefAdapter()
