"""Equality (EM) methods whose forks read `.fvecs` and one integer attribute per line (the
forks' `read_one_int_per_line`) and print `Queries per second: Q` and `Recall: R` (3
decimals, from the ground-truth file we hand them): iffp/NHQ's two graphs and iffp/CAPS.

Inputs: `base.fvecs`, `attributes.txt` (per item the code of its value of the scalar label
attribute: 1 + the value's rank in sorted order, 0 where it has none), `queries_<s>.fvecs`,
`query_attributes_<s>.txt` (the queried value's code, one line per query), `gt_<s>.ivecs`
(item ids, rows cut to the matches). The index (`index`, a prefix or a folder) is built once
and searched once per point.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fanns_bench.data.dataset import Dataset
from fanns_bench.data.importers.formats import write_fvecs
from fanns_bench.fidelity.adapter import (
    LabelAdapter,
    Theirs,
    item_codes,
    label_codes,
    printed_answer,
    selectivity_tag,
    write_lines,
    write_truth,
)
from fanns_bench.fidelity.data import Slice
from fanns_bench.fidelity.reference import run_program


@dataclass(frozen=True)
class Files:
    """The exchange files, those of one selectivity where `tag` is given."""

    folder: Path
    tag: str = ""

    @property
    def base(self) -> Path:
        return self.folder / "base.fvecs"

    @property
    def attributes(self) -> Path:
        return self.folder / "attributes.txt"

    @property
    def index(self) -> Path:
        return self.folder / "index"

    @property
    def queries(self) -> Path:
        return self.folder / f"queries_{self.tag}.fvecs"

    @property
    def query_attributes(self) -> Path:
        return self.folder / f"query_attributes_{self.tag}.txt"

    @property
    def truth(self) -> Path:
        return self.folder / f"gt_{self.tag}.ivecs"


class EqualityFilesAdapter(LabelAdapter):
    """Subclasses give their programs' argument lists; `programs` has `build` and `search`."""

    contains = False
    qps_clock = "theirs: wall clock of their query loop; ours: CPU time"

    @abstractmethod
    def build_arguments(self, files: Files) -> list[Any]:
        """The build program's arguments."""

    @abstractmethod
    def search_arguments(self, files: Files, point: dict[str, Any], k: int) -> list[Any]:
        """The search program's arguments at one point."""

    def run_theirs(
        self,
        programs: dict[str, Path],
        dataset: Dataset,
        slices: list[Slice],
        k: int,
        folder: Path,
        log: Path,
        build_env: dict[str, str] | None = None,
    ) -> dict[tuple[int, int], Theirs]:
        """As `Adapter.run_theirs`; `build_env` is added to the build program's environment."""
        attribute = slices[0].predicates[0].attr
        codes = label_codes(dataset, attribute)
        files = Files(folder)
        write_fvecs(files.base, dataset.vectors)
        write_lines(files.attributes, [str(c[0] if c else 0) for c in item_codes(dataset, attribute, codes)])
        run_program([programs["build"], *self.build_arguments(files)], log, env=build_env)
        answers: dict[tuple[int, int], Theirs] = {}
        for s, slice_ in enumerate(slices):
            files = Files(folder, selectivity_tag(slice_))
            write_fvecs(files.queries, slice_.queries)
            write_lines(files.query_attributes, [str(codes[p.value]) for p in slice_.predicates])
            write_truth(files.truth, slice_, k)
            for p, point in enumerate(self.points):
                stdout = run_program([programs["search"], *self.search_arguments(files, point, k)], log)
                answers[s, p] = printed_answer(stdout, "Queries per second", programs["search"], log)
        return answers
