"""DSG (iffp/DSG): range filters, the fork's `index_construction` + `query_execution`.

Inputs (what its programs read): `base_sorted.bin` (uint32 rows, uint32 dim, float32 rows, the
items in `position` order, as its `fvecs_to_sorted_bin` writes them) with
`base_sorted.bin.mapping` (int32 N, then N uint64: sorted index -> item id),
`queries_<s>.bin`, `ranges_<s>.txt` (`lo-hi`, inclusive positions), `gt_<s>.ivecs` (item
ids). Output: printed `QPS: Q` and `Recall: R` (mean over queries of hits / k, which is the
micro-average here: every range holds at least k items); one `query_execution` per ef.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from fanns_bench.data.dataset import Dataset
from fanns_bench.data.importers.formats import write_bin, write_ivecs
from fanns_bench.fidelity.adapter import Adapter, Theirs, selectivity_tag, write_lines
from fanns_bench.fidelity.data import POSITION, Slice, position_ranges
from fanns_bench.fidelity.reference import ReferenceError, run_program
from fanns_bench.filters.predicates import Predicate

NUMBER = r"([0-9.eE+-]+|inf|nan)"


class DsgAdapter(Adapter):
    method = "dsg"
    repository = "github.com/iffp/DSG (fb1865f)"
    programs: ClassVar[dict[str, tuple[str, ...]]] = {
        "build": ("index_construction", "build/index_construction"),
        "search": ("query_execution", "build/query_execution"),
    }
    # the benchmark paper's medium grid
    build: ClassVar[dict[str, Any]] = {
        "attribute": POSITION,
        "M": 24,
        "ef_construction": 200,
        "ef_max": 500,
        "alpha": 1.0,
    }
    points: ClassVar[list[dict[str, Any]]] = [{"ef_search": ef} for ef in (16, 64, 256)]
    qps_clock = "theirs: wall clock of their query loop; ours: CPU time"

    def filters(
        self, dataset: Dataset, set_attribute: str, selectivity: float, queries: int, seed: int
    ) -> tuple[list[Predicate], str]:
        return position_ranges(dataset, selectivity, queries, seed)

    def run_theirs(
        self,
        programs: dict[str, Path],
        dataset: Dataset,
        slices: list[Slice],
        k: int,
        folder: Path,
        log: Path,
    ) -> dict[tuple[int, int], Theirs]:
        order = np.argsort(np.asarray(dataset.attributes.table.column(POSITION).to_numpy()), kind="stable")
        base = folder / "base_sorted.bin"
        write_bin(base, np.asarray(dataset.vectors)[order], "<f4")
        with open(f"{base}.mapping", "wb") as handle:
            np.array([len(order)], dtype="<i4").tofile(handle)
            order.astype("<u8").tofile(handle)
        index = folder / "dsg_index"
        b = self.build
        run_program(
            [programs["build"], "--data_path", base, "--index_path", index, "--M", b["M"],
             "--ef_construction", b["ef_construction"], "--ef_max", b["ef_max"], "--alpha", b["alpha"]],
            log,
        )  # fmt: skip
        answers: dict[tuple[int, int], Theirs] = {}
        for s, slice_ in enumerate(slices):
            tag = selectivity_tag(slice_)
            write_bin(folder / f"queries_{tag}.bin", slice_.queries, "<f4")
            write_lines(folder / f"ranges_{tag}.txt", [f"{p.low}-{p.high}" for p in slice_.predicates])
            write_ivecs(folder / f"gt_{tag}.ivecs", [row[row >= 0][:k] for row in slice_.truth.ids])
            for p, point in enumerate(self.points):
                stdout = run_program(
                    [programs["search"], "--data_path", base, "--query_path", folder / f"queries_{tag}.bin",
                     "--query_ranges_file", folder / f"ranges_{tag}.txt", "--groundtruth_file",
                     folder / f"gt_{tag}.ivecs", "--index_path", index,
                     "--search_ef", point["ef_search"], "--k", k],
                    log,
                )  # fmt: skip
                qps = re.search(rf"^QPS: {NUMBER}", stdout, re.MULTILINE)
                recall = re.search(rf"^Recall: {NUMBER}", stdout, re.MULTILINE)
                if not (qps and recall):
                    raise ReferenceError(
                        f"{programs['search']}: no 'QPS: ...' and 'Recall: ...' lines, cannot parse ({log})"
                    )
                rate = float(qps.group(1))
                answers[s, p] = Theirs(
                    None, float(recall.group(1)), rate if np.isfinite(rate) and rate > 0 else None
                )
        return answers


ADAPTER = DsgAdapter()
