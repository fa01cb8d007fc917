"""Range methods whose fork ships `index_construction` + `query_execution` over items sorted
by the attribute (iffp/DSG, iffp/iRangeGraph: the same files, different options).

Inputs (what their programs read): `base_sorted.bin` (uint32 rows, uint32 dim, float32 rows, the
items in `position` order, as its `fvecs_to_sorted_bin` writes them) with
`base_sorted.bin.mapping` (int32 N, then N uint64: sorted index -> item id),
`queries_<s>.bin`, `ranges_<s>.txt` (`lo-hi`, inclusive positions), `gt_<s>.ivecs` (item
ids). Output: printed `QPS: Q` and `Recall: R` (DSG: the mean over queries of hits / k,
iRangeGraph: the micro-average; the same here, every range holds at least k items); one
`query_execution` per ef.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from fanns_bench.data.dataset import Dataset
from fanns_bench.data.importers.formats import write_bin
from fanns_bench.fidelity.adapter import (
    RangeAdapter,
    Theirs,
    printed_answer,
    selectivity_tag,
    write_lines,
    write_truth,
)
from fanns_bench.fidelity.data import POSITION, Slice
from fanns_bench.fidelity.reference import run_program


class SortedRangeAdapter(RangeAdapter):
    """`build_options`: our build parameter -> their build program's option; `index_option`
    and `ef_option` name the index path and search width options; `search_build_options`
    are build options the search program needs again (iRangeGraph's `--M`)."""

    programs: ClassVar[dict[str, tuple[str, ...]]] = {
        role: (name, f"tests/{name}", f"build/{name}", f"build/tests/{name}")
        for role, name in (("build", "index_construction"), ("search", "query_execution"))
    }
    points: ClassVar[list[dict[str, Any]]] = [{"ef_search": ef} for ef in (16, 64, 256)]
    qps_clock = "theirs: wall clock of their query loop; ours: CPU time"
    build_options: ClassVar[dict[str, str]]
    index_option: ClassVar[str]
    ef_option: ClassVar[str]
    search_build_options: ClassVar[tuple[str, ...]] = ()

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
        options = [[f"--{option}", self.build[ours]] for ours, option in self.build_options.items()]
        run_program(
            [programs["build"], "--data_path", base, self.index_option, index, *sum(options, [])], log
        )
        again = sum(([f"--{self.build_options[p]}", self.build[p]] for p in self.search_build_options), [])
        answers: dict[tuple[int, int], Theirs] = {}
        for s, slice_ in enumerate(slices):
            tag = selectivity_tag(slice_)
            write_bin(folder / f"queries_{tag}.bin", slice_.queries, "<f4")
            write_lines(folder / f"ranges_{tag}.txt", [f"{p.low}-{p.high}" for p in slice_.predicates])
            write_truth(folder / f"gt_{tag}.ivecs", slice_, k)
            for p, point in enumerate(self.points):
                stdout = run_program(
                    [programs["search"], "--data_path", base, "--query_path", folder / f"queries_{tag}.bin",
                     "--query_ranges_file", folder / f"ranges_{tag}.txt", "--groundtruth_file",
                     folder / f"gt_{tag}.ivecs", self.index_option, index, *again,
                     self.ef_option, point["ef_search"], "--k", k],
                    log,
                )  # fmt: skip
                answers[s, p] = printed_answer(stdout, "QPS", programs["search"], log)
        return answers
