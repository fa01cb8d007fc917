"""What one method's fidelity adapter provides (one small module per method)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from fanns_bench.data.dataset import Dataset
from fanns_bench.fidelity.data import Slice
from fanns_bench.filters.predicates import Predicate


@dataclass(frozen=True)
class Theirs:
    """The authors' answer at one (selectivity, point): ids (preferred; recall is then
    computed as ours is) or the recall their program printed, and their QPS."""

    ids: np.ndarray | None
    printed_recall: float | None
    qps: float | None


class Adapter(ABC):
    """How to write the authors' inputs, call their program and read its outputs.

    `build` and `points` are the parameter grid, in our method's parameter names; both
    sides get the same values. `programs` are the executables' paths relative to the
    authors' build folder (alternatives in order)."""

    method: ClassVar[str]
    repository: ClassVar[str]
    programs: ClassVar[dict[str, tuple[str, ...]]]
    build: ClassVar[dict[str, Any]]
    points: ClassVar[list[dict[str, Any]]]
    qps_clock: ClassVar[str]

    def build_params(self, set_attribute: str) -> dict[str, Any]:
        """Our method's build parameters for this dataset."""
        return dict(self.build)

    @abstractmethod
    def filters(
        self, dataset: Dataset, set_attribute: str, selectivity: float, queries: int, seed: int
    ) -> tuple[list[Predicate], str]:
        """One filter per query at about `selectivity`, and a label naming them."""

    @abstractmethod
    def run_theirs(
        self,
        programs: dict[str, Path],
        dataset: Dataset,
        slices: list[Slice],
        k: int,
        folder: Path,
        log: Path,
    ) -> dict[tuple[int, int], Theirs]:
        """Write the inputs under `folder`, run the authors' program(s) and read the
        answers, keyed by (slice index, point index)."""


def point_label(point: dict[str, Any]) -> str:
    return ", ".join(f"{key}={value}" for key, value in point.items())


def selectivity_tag(slice_: Slice) -> str:
    """The file-name tag of a slice (`s0.01`)."""
    return f"s{slice_.selectivity:g}"


def write_lines(path: Path, lines: list[str]) -> None:
    """One text line per entry (the authors' attribute and label files)."""
    path.write_text("".join(f"{line}\n" for line in lines))
