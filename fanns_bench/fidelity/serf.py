"""SeRF (iffp/SeRF): range filters, the fork's `index_construction_and_query_execution`.

Inputs (the formats its driver reads): `base.fvecs`, `attributes.txt` (one integer per item:
its `position`), `queries_<s>.fvecs`, `ranges_<s>.txt` (one `lo-hi` per query: inclusive
positions; the driver sorts items by attribute and passes the ranges on as positions, so
the attribute must be the position), `gt_<s>.ivecs` (ids in item order, rows cut to the
matches). Its output is printed recall and QPS only (`ef_search: E QPS: Q Recall: R`, recall
with 3 decimals, computed from the same ground truth as ours); the driver builds the index
again on each run, so it runs once per selectivity.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, ClassVar

from fanns_bench.data.dataset import Dataset
from fanns_bench.data.importers.formats import write_fvecs
from fanns_bench.fidelity.adapter import (
    RangeAdapter,
    Theirs,
    positive,
    selectivity_tag,
    write_lines,
    write_truth,
)
from fanns_bench.fidelity.data import POSITION, Slice
from fanns_bench.fidelity.reference import ReferenceError, run_program

LINE = re.compile(r"ef_search: (\d+) QPS: ([0-9.eE+-]+|inf) Recall: ([0-9.eE+-]+|nan)")


class SerfAdapter(RangeAdapter):
    method = "serf"
    repository = "github.com/iffp/SeRF (4075c03)"
    programs: ClassVar[dict[str, tuple[str, ...]]] = {
        "run": (
            "benchmark/index_construction_and_query_execution",
            "build/benchmark/index_construction_and_query_execution",
            "index_construction_and_query_execution",
        )
    }
    # the benchmark paper's medium grid
    build: ClassVar[dict[str, Any]] = {
        "attribute": POSITION,
        "index_k": 100,
        "ef_construction": 100,
        "ef_max": 500,
    }
    points: ClassVar[list[dict[str, Any]]] = [{"ef_search": ef} for ef in (16, 64, 256)]
    qps_clock = "theirs: wall clock of their query loop; ours: CPU time"
    # built with NOPARALLEL (docs/fidelity.md): one thread, the level generator's fixed seed 100
    seeding = "deterministic"

    def run_theirs(
        self,
        programs: dict[str, Path],
        dataset: Dataset,
        slices: list[Slice],
        k: int,
        folder: Path,
        log: Path,
    ) -> dict[tuple[int, int], Theirs]:
        write_fvecs(folder / "base.fvecs", dataset.vectors)
        positions = dataset.attributes.table.column(POSITION).to_pylist()
        write_lines(folder / "attributes.txt", [str(p) for p in positions])
        efs = [p["ef_search"] for p in self.points]
        answers: dict[tuple[int, int], Theirs] = {}
        for s, slice_ in enumerate(slices):
            tag = selectivity_tag(slice_)
            write_fvecs(folder / f"queries_{tag}.fvecs", slice_.queries)
            write_lines(folder / f"ranges_{tag}.txt", [f"{p.low}-{p.high}" for p in slice_.predicates])
            write_truth(folder / f"gt_{tag}.ivecs", slice_, k)
            stdout = run_program(
                [programs["run"], folder / "base.fvecs", folder / "attributes.txt",
                 folder / f"queries_{tag}.fvecs", folder / f"ranges_{tag}.txt", folder / f"gt_{tag}.ivecs",
                 self.build["index_k"], self.build["ef_construction"], self.build["ef_max"],
                 ",".join(map(str, efs)), k],
                log,
            )  # fmt: skip
            printed = {int(ef): (float(qps), float(recall)) for ef, qps, recall in LINE.findall(stdout)}
            for p, ef in enumerate(efs):
                if ef not in printed:
                    raise ReferenceError(
                        f"{programs['run']}: no 'ef_search: {ef} QPS: ... Recall: ...' line in its "
                        f"output, cannot parse ({log})"
                    )
                qps, recall = printed[ef]
                answers[s, p] = Theirs(None, recall, positive(qps))
        return answers


ADAPTER = SerfAdapter()
