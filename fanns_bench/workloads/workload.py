"""Workloads: query vectors with one predicate each, generated to hit selectivity buckets.

For every filter type and target selectivity s, the generator draws predicates whose
exact selectivity lies within [s / tolerance, min(1, s * tolerance)], and records each
query's match count and achieved selectivity. A bucket that the attribute values cannot
fill is reported (never faked). In `sampled` mode predicates are drawn from the
attributes of random database items, as the seed paper does, and each query is put in
the nearest bucket after the fact.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fanns_bench.data.dataset import Dataset
from fanns_bench.errors import ConfigError, WorkloadError
from fanns_bench.filters.evaluate import AttributeTable
from fanns_bench.filters.predicates import Predicate, from_json, to_json
from fanns_bench.workloads.templates import FilterSpec

ATTEMPTS_PER_QUERY = 40
HOPELESS_AFTER = 200  # draws without a single hit before a bucket is declared unfillable
COLUMNS = [
    "query_index",
    "filter_type",
    "selectivity_bucket",
    "predicate",
    "match_count",
    "selectivity",
]


@dataclass(frozen=True)
class WorkloadSpec:
    """A workload config: filter types x selectivity buckets x queries per bucket."""

    name: str
    filters: tuple[FilterSpec, ...]
    selectivities: tuple[float, ...] = (0.001, 0.01, 0.1, 0.5)
    queries_per_bucket: int = 100
    tolerance: float = 2.0
    mode: str = "buckets"
    ground_truth_depth: int = 100
    seed: int = 0
    path: str | tuple[str, ...] | None = None  # mode `file`: given workload file(s), relative to the dataset
    drop_empty: bool = False  # mode `file`: drop (and report) queries matching no item, else error

    @classmethod
    def from_config(cls, data: dict[str, Any]) -> WorkloadSpec:
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise ConfigError(f"workload config: unknown keys {sorted(unknown)}; known: {sorted(known)}")
        if "name" not in data or ("filters" not in data and data.get("mode") != "file"):
            raise ConfigError("workload config needs 'name' and 'filters' (or mode: file and path)")
        spec = cls(
            **{
                **data,
                "filters": tuple(FilterSpec.from_config(dict(f)) for f in data.get("filters", ())),
                "path": _paths(data.get("path")),
                "selectivities": tuple(float(s) for s in data.get("selectivities", cls.selectivities)),
            }
        )
        spec.check()
        return spec

    def check(self) -> None:
        if self.mode not in ("buckets", "sampled", "file"):
            raise ConfigError(f"workload {self.name!r}: mode {self.mode!r} is not buckets|sampled|file")
        if (self.mode == "file") != bool(self.path):
            raise ConfigError(f"workload {self.name!r}: 'path' goes with mode 'file' (and only with it)")
        bad = [s for s in self.selectivities if not 0 < s <= 1]
        if bad:
            raise ConfigError(f"workload {self.name!r}: selectivities {bad} are not in (0, 1]")
        if self.tolerance <= 1:
            raise ConfigError(f"workload {self.name!r}: tolerance must be > 1, got {self.tolerance}")
        if self.queries_per_bucket < 1 or self.ground_truth_depth < 1:
            raise ConfigError(f"workload {self.name!r}: queries_per_bucket and ground_truth_depth >= 1")

    def digest(self) -> str:
        text = json.dumps(_as_plain(self), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


@dataclass
class Workload:
    """Generated queries: a table with one row per query, plus unfilled-bucket notes."""

    name: str
    table: pd.DataFrame
    shortfalls: list[str] = field(default_factory=list)
    _predicates: list[Predicate | None] | None = field(default=None, repr=False)

    @property
    def predicates(self) -> list[Predicate | None]:
        if self._predicates is None:
            self._predicates = [from_json(p) for p in self.table["predicate"]]
        return self._predicates

    def groups(self) -> list[tuple[str, float, np.ndarray]]:
        """(filter type, bucket, row positions) for each non-empty group, in table order."""
        grouped = self.table.groupby(["filter_type", "selectivity_bucket"], sort=False).indices
        return [(t, float(b), np.asarray(rows)) for (t, b), rows in grouped.items()]

    def save(self, directory: Path) -> None:
        from fanns_bench.data.dataset import write_json_atomic

        directory.mkdir(parents=True, exist_ok=True)
        tmp = directory / ".workload.parquet.tmp"
        self.table.to_parquet(tmp, index=False)
        tmp.replace(directory / "workload.parquet")
        write_json_atomic(directory / "shortfalls.json", self.shortfalls)

    @classmethod
    def load(cls, directory: Path, name: str) -> Workload:
        try:
            table = pd.read_parquet(directory / "workload.parquet")
            shortfalls = json.loads((directory / "shortfalls.json").read_text())
        except (OSError, ValueError) as error:
            raise WorkloadError(f"{directory}: unreadable workload ({error})") from None
        missing = set(COLUMNS) - set(table.columns)
        if missing:
            raise WorkloadError(f"{directory / 'workload.parquet'}: missing columns {sorted(missing)}")
        return cls(name, table, shortfalls)


def generate_workload(spec: WorkloadSpec, dataset: Dataset) -> Workload:
    """Draw the workload's predicates on `dataset` (deterministic given `spec.seed`)."""
    if spec.mode == "file":
        return _given_workload(spec, dataset)
    rng = np.random.default_rng(spec.seed)
    query_order = rng.permutation(len(dataset.queries))
    if spec.queries_per_bucket > len(query_order):
        raise WorkloadError(
            f"workload {spec.name!r} asks for {spec.queries_per_bucket} queries per bucket, but "
            f"dataset {dataset.name!r} holds only {len(query_order)} query vectors"
        )
    rows: list[dict[str, Any]] = []
    shortfalls: list[str] = []
    for filter_spec in spec.filters:
        template = filter_spec.make(dataset.attributes)
        if template is None:
            rows += _unfiltered_rows(filter_spec.type, query_order[: spec.queries_per_bucket], dataset.count)
        elif spec.mode == "sampled":
            rows += _sampled_rows(spec, filter_spec.type, template, dataset.attributes, query_order, rng)
        else:
            for target in spec.selectivities:
                drawn, note = _bucket_rows(
                    spec, filter_spec.type, template, dataset.attributes, target, query_order, rng
                )
                rows += drawn
                if note:
                    shortfalls.append(note)
    return Workload(spec.name, pd.DataFrame(rows, columns=COLUMNS), shortfalls)


def _given_workload(spec: WorkloadSpec, dataset: Dataset) -> Workload:
    """Workload file(s) given as (query_index, filter_type, predicate_json[, gt_ids])."""
    paths = [spec.path] if isinstance(spec.path, str) else list(spec.path or ())
    frames, notes = [], []
    for name in paths:
        frame, note = _given_file(spec, dataset, Path(name))
        frames.append(frame)
        notes += note
    return Workload(spec.name, pd.concat(frames, ignore_index=True), notes)


def _given_file(spec: WorkloadSpec, dataset: Dataset, path: Path) -> tuple[pd.DataFrame, list[str]]:
    from fanns_bench.data.importers.common import read_workload

    path = path if path.is_absolute() else dataset.path / path
    table, predicates = read_workload(path)
    frame = table.to_pandas()
    frame["predicate"] = frame["predicate_json"]
    frame["match_count"] = [dataset.attributes.count(p) for p in predicates]
    frame["selectivity"] = frame["match_count"] / dataset.count
    buckets = np.log(np.asarray(spec.selectivities))
    selectivity = np.log(np.maximum(frame.selectivity.to_numpy(), 1e-12))
    nearest = np.abs(buckets[None, :] - selectivity[:, None]).argmin(axis=1)
    frame["selectivity_bucket"] = np.asarray(spec.selectivities)[nearest]
    frame = frame.groupby("filter_type", sort=False).head(spec.queries_per_bucket)
    outside = frame.query_index[(frame.query_index < 0) | (frame.query_index >= len(dataset.queries))]
    if len(outside):
        raise WorkloadError(
            f"{path}: query_index {int(outside.iloc[0])} is not one of the "
            f"{len(dataset.queries)} query vectors of {dataset.name!r}"
        )
    notes = []
    empty = frame.match_count == 0
    if spec.drop_empty and empty.any():
        notes.append(f"{path.name}: dropped {int(empty.sum())} queries whose filter matches no item")
        frame = frame[~empty]
    columns = COLUMNS + (["gt_ids"] if "gt_ids" in frame else [])
    return frame[columns], notes


def _unfiltered_rows(filter_type: str, query_indices: np.ndarray, count: int) -> list[dict]:
    return [_row(q, filter_type, 1.0, None, count, count) for q in query_indices]


def _bucket_rows(
    spec: WorkloadSpec,
    filter_type: str,
    template: Any,
    table: AttributeTable,
    target: float,
    query_order: np.ndarray,
    rng: np.random.Generator,
) -> tuple[list[dict], str | None]:
    low, high = target / spec.tolerance, min(1.0, target * spec.tolerance)
    rows: list[dict] = []
    closest: float | None = None
    attempts = 0
    limit = ATTEMPTS_PER_QUERY * spec.queries_per_bucket
    while len(rows) < spec.queries_per_bucket and attempts < limit:
        if attempts >= HOPELESS_AFTER and not rows:
            break
        attempts += 1
        predicate = template.propose(rng, target)
        if predicate is None:
            continue
        match_count = table.count(predicate)
        selectivity = match_count / table.num_rows
        if match_count > 0 and low <= selectivity <= high:
            rows.append(
                _row(
                    query_order[len(rows)],
                    filter_type,
                    target,
                    predicate,
                    match_count,
                    table.num_rows,
                )
            )
        elif closest is None or abs(np.log(max(selectivity, 1e-12) / target)) < abs(
            np.log(max(closest, 1e-12) / target)
        ):
            closest = selectivity
    if len(rows) == spec.queries_per_bucket:
        return rows, None
    note = (
        f"{filter_type} on {template.attribute}: bucket {target:g} filled {len(rows)} of "
        f"{spec.queries_per_bucket} queries; no predicate with selectivity in [{low:.3g}, {high:.3g}] "
        f"was found in {attempts} draws" + (f" (closest {closest:.3g})" if closest is not None else "")
    )
    return rows, note


def _sampled_rows(
    spec: WorkloadSpec,
    filter_type: str,
    template: Any,
    table: AttributeTable,
    query_order: np.ndarray,
    rng: np.random.Generator,
) -> list[dict]:
    buckets = np.log(np.asarray(spec.selectivities))
    rows = []
    for query_index in query_order[: spec.queries_per_bucket]:
        predicate = template.sample(rng)
        match_count = table.count(predicate)
        selectivity = match_count / table.num_rows
        bucket = spec.selectivities[int(np.argmin(np.abs(buckets - np.log(selectivity))))]
        rows.append(_row(query_index, filter_type, bucket, predicate, match_count, table.num_rows))
    return rows


def _row(
    query_index: int,
    filter_type: str,
    bucket: float,
    predicate: Predicate | None,
    match_count: int,
    num_rows: int,
) -> dict[str, Any]:
    return {
        "query_index": int(query_index),
        "filter_type": filter_type,
        "selectivity_bucket": float(bucket),
        "predicate": to_json(predicate),
        "match_count": int(match_count),
        "selectivity": match_count / num_rows,
    }


def _paths(value: Any) -> str | tuple[str, ...] | None:
    return tuple(value) if isinstance(value, list | tuple) else value


def _as_plain(value: Any) -> Any:
    if hasattr(value, "__dataclass_fields__"):
        return {k: _as_plain(getattr(value, k)) for k in value.__dataclass_fields__}
    if isinstance(value, list | tuple):
        return [_as_plain(v) for v in value]
    return value
