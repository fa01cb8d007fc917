"""What one method's fidelity adapter provides (one small module per method), the two filter
families they share (`position` ranges, one label value per selectivity) and the file and
output helpers their `run_theirs` use."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from fanns_bench.data.dataset import Dataset
from fanns_bench.data.importers.formats import write_ivecs
from fanns_bench.fidelity.data import Labels, Slice, position_ranges
from fanns_bench.fidelity.reference import ReferenceError
from fanns_bench.filters.predicates import Contains, Eq, Predicate

NUMBER = r"([0-9.eE+-]+|inf|nan)"
#: how the authors' builds are repeated for `--builds N` (`Adapter.seeding`)
SEEDING = {
    "seeded": "seeds 0..N-1 passed to their program",
    "deterministic": "no seed; their build is deterministic, so built once",
    "unseeded": "no seed to pass; run N times (their build is randomised or multi-threaded)",
}


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
    authors' build folder (alternatives in order). `seeding` (a key of `SEEDING`) says how
    their build is repeated for several builds; `seeded` adapters override `run_build`."""

    method: ClassVar[str]
    repository: ClassVar[str]
    programs: ClassVar[dict[str, tuple[str, ...]]]
    build: ClassVar[dict[str, Any]]
    points: ClassVar[list[dict[str, Any]]]
    qps_clock: ClassVar[str]
    seeding: ClassVar[str] = "unseeded"

    def build_params(self, labels: Labels) -> dict[str, Any]:
        """Our method's build parameters for this dataset."""
        return dict(self.build)

    @abstractmethod
    def filters(
        self, dataset: Dataset, labels: Labels, selectivity: float, queries: int, seed: int
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
        """One build of theirs (`run_theirs`); `seed` reaches only programs that take one."""
        return self.run_theirs(programs, dataset, slices, k, folder, log)


class RangeAdapter(Adapter):
    """Range methods: `position` ranges of exactly round(s·N) items (`data.position_ranges`)."""

    def filters(
        self, dataset: Dataset, labels: Labels, selectivity: float, queries: int, seed: int
    ) -> tuple[list[Predicate], str]:
        return position_ranges(dataset, selectivity, queries, seed)


class LabelAdapter(Adapter):
    """Label methods: every query asks for the one value of a label attribute whose share of
    items is closest to the selectivity: `contains` on the set attribute (EMIS) or `eq` on the
    scalar one (EM). `label_param` is our method's build parameter naming the attribute."""

    contains: ClassVar[bool]
    label_param: ClassVar[str] = "label_attribute"

    def attribute(self, labels: Labels) -> str:
        return labels.set_attribute if self.contains else labels.scalar_attribute

    def build_params(self, labels: Labels) -> dict[str, Any]:
        return {**self.build, self.label_param: self.attribute(labels)}

    def filters(
        self, dataset: Dataset, labels: Labels, selectivity: float, queries: int, seed: int
    ) -> tuple[list[Predicate], str]:
        return label_filters(dataset, self.attribute(labels), self.contains, selectivity, queries)


def label_filters(
    dataset: Dataset, attribute: str, contains: bool, selectivity: float, queries: int
) -> tuple[list[Predicate], str]:
    """The value of `attribute` whose share of items is closest to `selectivity`, asked by every
    query (`contains` on a set attribute, else `eq`), and a label naming the filter."""
    counts = value_counts(dataset, attribute)
    value = min(counts, key=lambda v: (abs(counts[v] / dataset.count - selectivity), str(v)))
    if contains:
        return [Contains(attribute, value)] * queries, f"{attribute} contains {value}"
    return [Eq(attribute, value)] * queries, f"{attribute} = {value}"


def value_counts(dataset: Dataset, attribute: str) -> dict[Any, int]:
    """Items per value of `attribute` (a set attribute counts each element once per item;
    nulls are left out)."""
    counts: dict[Any, int] = {}
    for item in dataset.attributes.table.column(attribute).to_pylist():
        for value in set(item or []) if isinstance(item, list) else [] if item is None else [item]:
            counts[value] = counts.get(value, 0) + 1
    return counts


def label_codes(dataset: Dataset, attribute: str) -> dict[Any, int]:
    """Integer labels for the authors' files: 1 + the value's rank in sorted order (0 is left
    for no value)."""
    return {value: code for code, value in enumerate(sorted(value_counts(dataset, attribute)), start=1)}


def item_codes(dataset: Dataset, attribute: str, codes: dict[Any, int]) -> list[list[int]]:
    """Each item's label codes (a scalar attribute gives one; a null gives none)."""
    items = dataset.attributes.table.column(attribute).to_pylist()
    return [
        [codes[v] for v in item] if isinstance(item, list) else [] if item is None else [codes[item]]
        for item in items
    ]


def point_label(point: dict[str, Any]) -> str:
    return ", ".join(f"{key}={value}" for key, value in point.items())


def selectivity_tag(slice_: Slice) -> str:
    """The file-name tag of a slice (`s0.01`)."""
    return f"s{slice_.selectivity:g}"


def write_lines(path: Path, lines: list[str]) -> None:
    """One text line per entry (the authors' attribute and label files)."""
    path.write_text("".join(f"{line}\n" for line in lines))


def write_truth(path: Path, slice_: Slice, k: int) -> None:
    """The slice's ground truth as .ivecs, item ids, rows cut to the matches (at most k)."""
    write_ivecs(path, [row[row >= 0][:k] for row in slice_.truth.ids])


def printed_answer(stdout: str, qps_label: str, program: Path, log: Path) -> Theirs:
    """Their printed `<qps_label>: Q` and `Recall: R` lines (each at a line start)."""
    qps = re.search(rf"^{qps_label}: {NUMBER}", stdout, re.MULTILINE)
    recall = re.search(rf"^Recall: {NUMBER}", stdout, re.MULTILINE)
    if not (qps and recall):
        raise ReferenceError(
            f"{program}: no '{qps_label}: ...' and 'Recall: ...' lines, cannot parse ({log})"
        )
    return Theirs(None, float(recall.group(1)), positive(float(qps.group(1))))


def positive(rate: float) -> float | None:
    """A printed QPS, or None where it is not a positive finite number."""
    return rate if np.isfinite(rate) and rate > 0 else None


def checked_ids(ids: np.ndarray, items: int) -> np.ndarray:
    """int64 ids with those outside [0, items) set to -1."""
    ids = np.asarray(ids, dtype=np.int64)
    return np.where((ids >= 0) & (ids < items), ids, -1)
