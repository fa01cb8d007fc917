"""Filtered-DiskANN (microsoft/DiskANN 0.7.0, the C++ release diskannpy 0.7.0 wraps):
`apps/build_memory_index --label_file` (FilteredVamana) or `apps/build_stitched_index`
(StitchedVamana), then `apps/search_memory_index --query_filters_file`. Builds and searches
on one thread (`-T 1`).

Inputs: `base.bin` (uint32 rows, uint32 dim, float32 rows), `base_labels.txt` (per item its
labels of the set attribute, comma-separated integer codes: 1 + the value's rank in sorted
order; their label parser refuses an item without labels), `queries_<s>.bin`,
`query_labels_<s>.txt` (one code per query). Outputs: `results_<s>_<L>_idx_uint32.bin`
(uint32 rows, uint32 k, then k uint32 ids per query; a query that found fewer than k keeps
zeros, i.e. item 0, in the rest, as their program leaves them) and a table on stdout with
one row per L (`L QPS cmps mean-latency p99.9-latency`; QPS by wall clock of their loop).
"""

from __future__ import annotations

import re
from abc import abstractmethod
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from fanns_bench.data.dataset import Dataset
from fanns_bench.data.importers.formats import write_bin
from fanns_bench.fidelity.adapter import (
    LabelAdapter,
    Theirs,
    checked_ids,
    item_codes,
    label_codes,
    positive,
    selectivity_tag,
    write_lines,
)
from fanns_bench.fidelity.data import Slice
from fanns_bench.fidelity.reference import ReferenceError, run_program

#: a row of their results table: L, QPS, then three more numbers (one line: [ \t], not \s)
ROW = re.compile(
    r"^[ \t]*(\d+)[ \t]+([0-9.]+|inf|nan)(?:[ \t]+(?:[0-9.eE+-]+|inf|nan)){3,}[ \t]*$", re.MULTILINE
)


def _programs(build: str) -> dict[str, tuple[str, ...]]:
    return {
        role: (f"apps/{name}", f"build/apps/{name}", name)
        for role, name in (("build", build), ("search", "search_memory_index"))
    }


class DiskannAdapter(LabelAdapter):
    """One label of the set attribute per query (EMIS); subclasses give the build program."""

    contains = True
    repository = "github.com/microsoft/DiskANN (0.7.0)"
    points: ClassVar[list[dict[str, Any]]] = [{"L_search": width} for width in (10, 100, 1000)]
    qps_clock = "theirs: wall clock of their search loop (-T 1); ours: CPU time"

    @abstractmethod
    def build_options(self) -> list[Any]:
        """Their build program's options after the files."""

    def run_theirs(
        self,
        programs: dict[str, Path],
        dataset: Dataset,
        slices: list[Slice],
        k: int,
        folder: Path,
        log: Path,
    ) -> dict[tuple[int, int], Theirs]:
        attribute = slices[0].predicates[0].attr
        codes = label_codes(dataset, attribute)
        labels = item_codes(dataset, attribute, codes)
        unlabelled = sum(1 for item in labels if not item)
        if unlabelled:
            raise ReferenceError(
                f"{attribute}: {unlabelled} items have no label; "
                "DiskANN's label file needs at least one per item"
            )
        write_bin(folder / "base.bin", dataset.vectors, "<f4")
        write_lines(folder / "base_labels.txt", [",".join(map(str, item)) for item in labels])
        index = folder / "index"
        run_program(
            [programs["build"], "--data_type", "float", "--data_path", folder / "base.bin",
             "--index_path_prefix", index, "--label_file", folder / "base_labels.txt", "-T", 1,
             *self.build_options()],
            log,
        )  # fmt: skip
        widths = [p["L_search"] for p in self.points]
        answers: dict[tuple[int, int], Theirs] = {}
        for s, slice_ in enumerate(slices):
            tag = selectivity_tag(slice_)
            write_bin(folder / f"queries_{tag}.bin", slice_.queries, "<f4")
            write_lines(folder / f"query_labels_{tag}.txt", [str(codes[p.value]) for p in slice_.predicates])
            results = folder / f"results_{tag}"
            stdout = run_program(
                [programs["search"], "--data_type", "float", "--dist_fn", "l2", "--index_path_prefix", index,
                 "--result_path", results, "--query_file", folder / f"queries_{tag}.bin",
                 "--query_filters_file", folder / f"query_labels_{tag}.txt", "-K", k, "-T", 1,
                 "-L", *widths],
                log,
            )  # fmt: skip
            rates = {int(width): float(qps) for width, qps in ROW.findall(stdout)}
            for p, width in enumerate(widths):
                if width not in rates:
                    raise ReferenceError(
                        f"{programs['search']}: no table row for L = {width} in its output, "
                        f"cannot parse ({log})"
                    )
                ids = read_ids(
                    Path(f"{results}_{width}_idx_uint32.bin"), len(slice_.queries), k, dataset.count
                )
                answers[s, p] = Theirs(ids, None, positive(rates[width]))
        return answers


def read_ids(path: Path, queries: int, k: int, items: int) -> np.ndarray:
    """(queries, k) ids from their `_idx_uint32.bin` (unfilled slots and ids outside [0, items)
    become -1)."""
    if not path.is_file():
        raise ReferenceError(f"{path}: the authors' search wrote no result file")
    raw = np.fromfile(path, dtype="<u4")
    if raw.size < 2 or (int(raw[0]), int(raw[1])) != (queries, k) or raw.size != 2 + queries * k:
        raise ReferenceError(f"{path}: expected {queries} x {k} uint32 ids after a header, cannot parse")
    return checked_ids(raw[2:].reshape(queries, k), items)


class FilteredVamanaAdapter(DiskannAdapter):
    method = "filtered_vamana"
    programs: ClassVar[dict[str, tuple[str, ...]]] = _programs("build_memory_index")
    # the benchmark paper's medium EM setting (Lf = L, as our L serves both passes)
    build: ClassVar[dict[str, Any]] = {"R": 48, "L": 100, "alpha": 1.0}

    def build_options(self) -> list[Any]:
        b = self.build
        return [
            "--dist_fn",
            "l2",
            "-R",
            b["R"],
            "-L",
            b["L"],
            "--FilteredLbuild",
            b["L"],
            "--alpha",
            b["alpha"],
        ]


class StitchedVamanaAdapter(DiskannAdapter):
    method = "stitched_vamana"
    programs: ClassVar[dict[str, tuple[str, ...]]] = _programs("build_stitched_index")
    # the benchmark paper's medium EM setting (their program fixes the final prune's alpha at 1.2)
    build: ClassVar[dict[str, Any]] = {"R_small": 32, "L_small": 80, "alpha": 1.1, "R_stitched": 48}

    def build_options(self) -> list[Any]:
        b = self.build
        return [
            "-R",
            b["R_small"],
            "-L",
            b["L_small"],
            "--alpha",
            b["alpha"],
            "--stitched_R",
            b["R_stitched"],
        ]


FILTERED = FilteredVamanaAdapter()
STITCHED = StitchedVamanaAdapter()
