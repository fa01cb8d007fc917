"""Workloads: query vectors with one predicate each, generated to hit selectivity buckets.

Every mode keeps a query in bucket s only when its exact selectivity lies within
[s / tolerance, min(1, s * tolerance)], and never files a predicate that matches every
item under a bucket below 1. In `buckets` mode predicates are drawn for each target; in
`sampled` mode they are drawn from the attributes of random database items, as the seed
paper does, and each goes to the nearest bucket after the fact; in `file` mode they are
given. What cannot be filled, or falls outside every bucket, is left out and reported in a
shortfall table (`SHORTFALL_COLUMNS`, saved with the workload), never faked.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fanns_bench.atomic_files import write_parquet_atomic
from fanns_bench.data.dataset import Dataset
from fanns_bench.errors import ConfigError, WorkloadError
from fanns_bench.filters.evaluate import AttributeTable
from fanns_bench.filters.predicates import Predicate, from_json, to_json
from fanns_bench.workloads.templates import FilterSpec

# Bump when generation changes what a spec yields: it is part of the workload cache key.
WORKLOAD_VERSION = 2
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
# One row per unmet request: `requested` queries asked for the bucket (NaN where the mode
# sets no count per bucket: `sampled`, `file`), `filled` the queries it holds, `left_out`
# the drawn or given queries nearest to it that were dropped (outside the tolerance,
# matching every item, or matching none), and a sentence saying why.
SHORTFALL_COLUMNS = ["filter_type", "selectivity_bucket", "requested", "filled", "left_out", "note"]
# filter type x bucket: what each bucket holds and what it lacks (see `bucket_table`).
BUCKET_COLUMNS = [
    "filter_type",
    "selectivity_bucket",
    "n_queries",
    "selectivity_min",
    "selectivity_median",
    "selectivity_max",
    "requested",
    "left_out",
    "shortfall",
    "note",
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
                "selectivities": _selectivities(data.get("selectivities", cls.selectivities)),
            }
        )
        spec.check()
        return spec

    def check(self) -> None:
        if self.mode not in ("buckets", "sampled", "file"):
            raise ConfigError(f"workload {self.name!r}: mode {self.mode!r} is not buckets|sampled|file")
        if (self.mode == "file") != bool(self.path):
            raise ConfigError(f"workload {self.name!r}: 'path' goes with mode 'file' (and only with it)")
        if self.mode != "file" and not self.selectivities:
            raise ConfigError(
                f"workload {self.name!r}: selectivities is empty; expected a list of values in (0, 1]"
            )
        bad = [s for s in self.selectivities if not 0 < s <= 1]
        if bad:
            raise ConfigError(f"workload {self.name!r}: selectivities {bad} are not in (0, 1]")
        if self.tolerance <= 1:
            raise ConfigError(f"workload {self.name!r}: tolerance must be > 1, got {self.tolerance}")
        if self.queries_per_bucket < 1 or self.ground_truth_depth < 1:
            raise ConfigError(f"workload {self.name!r}: queries_per_bucket and ground_truth_depth >= 1")
        for spec in self.filters:
            extra = sorted(set(spec.selectivities or ()) - set(self.selectivities))
            if extra:
                raise ConfigError(
                    f"workload {self.name!r}: filter {spec.type!r} on {spec.attribute!r} targets "
                    f"selectivities {extra}, which are not among the workload's {list(self.selectivities)}"
                )

    def digest(self) -> str:
        text = json.dumps(_as_plain(self), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


@dataclass
class Workload:
    """Generated queries: a table with one row per query, plus the shortfall table."""

    name: str
    table: pd.DataFrame
    shortfall_table: pd.DataFrame = field(default_factory=lambda: _shortfall_frame([]))
    _predicates: list[Predicate | None] | None = field(default=None, repr=False)

    @property
    def predicates(self) -> list[Predicate | None]:
        if self._predicates is None:
            self._predicates = [from_json(p) for p in self.table["predicate"]]
        return self._predicates

    @property
    def shortfalls(self) -> list[str]:
        """One sentence per shortfall (the `note` column of the shortfall table)."""
        return [str(note) for note in self.shortfall_table["note"]]

    def groups(self) -> list[tuple[str, float, np.ndarray]]:
        """(filter type, bucket, row positions) for each non-empty group, in table order."""
        grouped = self.table.groupby(["filter_type", "selectivity_bucket"], sort=False).indices
        return [(t, float(b), np.asarray(rows)) for (t, b), rows in grouped.items()]

    def save(self, directory: Path) -> None:
        for name, frame in (("shortfalls", self.shortfall_table), ("workload", self.table)):
            write_parquet_atomic(directory / f"{name}.parquet", frame)

    @classmethod
    def load(cls, directory: Path, name: str) -> Workload:
        try:
            table = pd.read_parquet(directory / "workload.parquet")
            shortfalls = pd.read_parquet(directory / "shortfalls.parquet")
        except (OSError, ValueError) as error:
            raise WorkloadError(f"{directory}: unreadable workload ({error})") from None
        for path, frame, columns in (
            (directory / "workload.parquet", table, COLUMNS),
            (directory / "shortfalls.parquet", shortfalls, SHORTFALL_COLUMNS),
        ):
            missing = set(columns) - set(frame.columns)
            if missing:
                raise WorkloadError(f"{path}: missing columns {sorted(missing)}")
        return cls(name, table, shortfalls)


def bucket_table(workload: Workload, spec: WorkloadSpec | None = None) -> pd.DataFrame:
    """filter type x bucket: queries held, min / median / max achieved selectivity, and the
    shortfall (requested minus held where a count was requested, else the queries left out).

    `spec` (in `buckets` mode) fills in the count requested of the buckets that are full."""
    held = (
        workload.table.groupby(["filter_type", "selectivity_bucket"], sort=False)
        .selectivity.agg(["size", "min", "median", "max"])
        .set_axis(["n_queries", "selectivity_min", "selectivity_median", "selectivity_max"], axis=1)
    )
    short = workload.shortfall_table.dropna(subset=["selectivity_bucket"])
    lacking = short.groupby(["filter_type", "selectivity_bucket"], sort=False).agg(
        requested=("requested", "max"),
        left_out=("left_out", "sum"),
        note=("note", lambda notes: "; ".join(notes)),
    )
    table = held.join(lacking, how="outer").reset_index()
    table["n_queries"] = table["n_queries"].fillna(0).astype(int)
    table["left_out"] = table["left_out"].fillna(0).astype(int)
    table["note"] = table["note"].fillna("")
    if spec is not None and spec.mode == "buckets":
        table["requested"] = table["requested"].fillna(float(spec.queries_per_bucket))
    requested = table["requested"].to_numpy(dtype=float)
    missing = np.where(np.isnan(requested), 0, requested - table["n_queries"].to_numpy())
    table["shortfall"] = np.maximum(missing, 0).astype(int) + table["left_out"]
    order = {t: i for i, t in enumerate(dict.fromkeys([*workload.table.filter_type, *short.filter_type]))}
    table = table.sort_values(
        ["filter_type", "selectivity_bucket"], key=lambda c: c.map(order) if c.name == "filter_type" else c
    )
    return table[BUCKET_COLUMNS].reset_index(drop=True)


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
    shortfalls: list[dict[str, Any]] = []
    for filter_spec in spec.filters:
        template = filter_spec.make(dataset.attributes)
        if template is None:
            rows += _unfiltered_rows(filter_spec.type, query_order[: spec.queries_per_bucket], dataset.count)
        elif spec.mode == "sampled":
            drawn, notes = _sampled_rows(
                spec, filter_spec.type, template, dataset.attributes, query_order, rng
            )
            rows += drawn
            shortfalls += notes
        else:
            for target in filter_spec.selectivities or spec.selectivities:
                drawn, note = _bucket_rows(
                    spec, filter_spec.type, template, dataset.attributes, target, query_order, rng
                )
                rows += drawn
                if note:
                    shortfalls.append(note)
    return Workload(spec.name, pd.DataFrame(rows, columns=COLUMNS), _shortfall_frame(shortfalls))


def bucket_bounds(target: float, tolerance: float) -> tuple[float, float]:
    """The selectivities bucket `target` accepts: [target / tolerance, min(1, target * tolerance)]."""
    return target / tolerance, min(1.0, target * tolerance)


def assign_buckets(
    selectivity: np.ndarray, all_match: np.ndarray, selectivities: tuple[float, ...], tolerance: float
) -> tuple[np.ndarray, np.ndarray]:
    """(bucket or NaN when left out, nearest bucket) per query.

    The nearest bucket in log distance takes the query when the selectivity lies within its
    tolerance; a predicate that matches every item goes only to a bucket of 1, if there is one.
    """
    buckets = np.asarray(selectivities, dtype=float)
    logs = np.log(np.maximum(np.asarray(selectivity, dtype=float), 1e-12))
    distance = np.abs(logs[:, None] - np.log(buckets)[None, :])
    nearest = buckets[distance.argmin(axis=1)] if len(buckets) else np.full(len(logs), np.nan)
    within = distance.min(axis=1) <= np.log(tolerance) + 1e-12 if len(buckets) else np.zeros(len(logs), bool)
    chosen = np.where(within, nearest, np.nan)
    everything = np.asarray(all_match, dtype=bool)
    chosen[everything] = 1.0 if 1.0 in buckets else np.nan
    return chosen, nearest


def _given_workload(spec: WorkloadSpec, dataset: Dataset) -> Workload:
    """Workload file(s) given as (query_index, filter_type, predicate_json[, gt_ids])."""
    frames, notes = [], []
    for path in given_paths(spec, dataset):
        frame, note = _given_file(spec, dataset, path)
        frames.append(frame)
        notes += note
    return Workload(spec.name, pd.concat(frames, ignore_index=True), _shortfall_frame(notes))


def given_paths(spec: WorkloadSpec, dataset: Dataset) -> list[Path]:
    """The workload files of a `file`-mode spec, resolved against the dataset directory."""
    names = [spec.path] if isinstance(spec.path, str) else list(spec.path or ())
    return [Path(name) if Path(name).is_absolute() else dataset.path / name for name in names]


def _given_file(spec: WorkloadSpec, dataset: Dataset, path: Path) -> tuple[pd.DataFrame, list[dict]]:
    from fanns_bench.data.importers.common import read_workload

    table, predicates = read_workload(path)
    frame = table.to_pandas()
    frame["predicate"] = frame["predicate_json"]
    frame["match_count"] = [dataset.attributes.count(p) for p in predicates]
    frame["selectivity"] = frame["match_count"] / dataset.count
    frame["_unfiltered"] = [p is None for p in predicates]
    frame = frame.groupby("filter_type", sort=False).head(spec.queries_per_bucket)
    outside = frame.query_index[(frame.query_index < 0) | (frame.query_index >= len(dataset.queries))]
    if len(outside):
        raise WorkloadError(
            f"{path}: query_index {int(outside.iloc[0])} is not one of the "
            f"{len(dataset.queries)} query vectors of {dataset.name!r}"
        )
    chosen, nearest = assign_buckets(
        frame.selectivity.to_numpy(),
        (frame.match_count == dataset.count).to_numpy() & ~frame._unfiltered.to_numpy(),
        spec.selectivities,
        spec.tolerance,
    )
    chosen[frame._unfiltered.to_numpy()] = 1.0  # no filter: the unfiltered bucket
    empty = (frame.match_count == 0).to_numpy()
    chosen[empty] = nearest[empty]  # dropped below, or refused with a clear error when used
    notes = []
    if spec.drop_empty and empty.any():
        notes += _left_out_notes(frame[empty], nearest[empty], f"{path.name}: filter matches no item")
    kept = ~empty if spec.drop_empty else np.ones(len(frame), bool)
    outside_all = np.isnan(chosen) & kept
    if outside_all.any():
        reason = f"{path.name}: selectivity outside every bucket's tolerance (x{spec.tolerance:g})"
        notes += _left_out_notes(frame[outside_all], nearest[outside_all], reason, dataset.count)
    frame["selectivity_bucket"] = chosen
    frame = frame[kept & ~outside_all]
    notes += _empty_bucket_notes(spec, frame, path.name)
    columns = COLUMNS + (["gt_ids"] if "gt_ids" in frame else [])
    return frame[columns].reset_index(drop=True), notes


def _left_out_notes(
    frame: pd.DataFrame, nearest: np.ndarray, reason: str, count: int | None = None
) -> list[dict[str, Any]]:
    """One shortfall row per (filter type, nearest bucket) of left-out queries."""
    notes = []
    left = pd.DataFrame(
        {
            "filter_type": frame.filter_type.to_numpy(),
            "nearest": nearest,
            "selectivity": frame.selectivity.to_numpy(),
            "everything": frame.match_count.to_numpy() == count,
        }
    )
    for (filter_type, bucket), group in left.groupby(["filter_type", "nearest"], sort=False):
        every = int(group.everything.sum())
        notes.append(
            _shortfall(
                filter_type,
                bucket,
                None,
                0,
                len(group),
                f"{filter_type}: {len(group)} queries nearest to bucket {bucket:g} left out ({reason}; "
                f"selectivity {group.selectivity.min():.3g}..{group.selectivity.max():.3g}"
                + (f"; {every} match every item" if every else "")
                + ")",
            )
        )
    return notes


def _empty_bucket_notes(spec: WorkloadSpec, frame: pd.DataFrame, where: str) -> list[dict[str, Any]]:
    """A shortfall row for each bucket of each filtered type that holds no query."""
    notes = []
    for filter_type, group in frame.groupby("filter_type", sort=False):
        if group.predicate.isna().all() or (group.predicate == to_json(None)).all():
            continue  # the unfiltered type has only the bucket 1
        held = set(group.selectivity_bucket)
        for bucket in spec.selectivities:
            if bucket not in held:
                notes.append(
                    _shortfall(
                        filter_type,
                        bucket,
                        None,
                        0,
                        0,
                        f"{where}: {filter_type} has no query in bucket {bucket:g}",
                    )
                )
    return notes


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
) -> tuple[list[dict], dict[str, Any] | None]:
    low, high = bucket_bounds(target, spec.tolerance)
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
        matches_all = match_count == table.num_rows and target < 1
        if match_count > 0 and low <= selectivity <= high and not matches_all:
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
        f"{spec.queries_per_bucket} queries; no predicate with selectivity in [{low:.3g}, {high:.3g}]"
        + (" (and not matching every item)" if target < 1 and high >= 1 else "")
        + f" was found in {attempts} draws"
        + (f" (closest {closest:.3g})" if closest is not None else "")
    )
    return rows, _shortfall(filter_type, target, spec.queries_per_bucket, len(rows), 0, note)


def _sampled_rows(
    spec: WorkloadSpec,
    filter_type: str,
    template: Any,
    table: AttributeTable,
    query_order: np.ndarray,
    rng: np.random.Generator,
) -> tuple[list[dict], list[dict[str, Any]]]:
    drawn = []
    for query_index in query_order[: spec.queries_per_bucket]:
        predicate = template.sample(rng)
        drawn.append(
            _row(query_index, filter_type, np.nan, predicate, table.count(predicate), table.num_rows)
        )
    frame = pd.DataFrame(drawn, columns=COLUMNS)
    chosen, nearest = assign_buckets(
        frame.selectivity.to_numpy(),
        (frame.match_count == table.num_rows).to_numpy(),
        spec.selectivities,
        spec.tolerance,
    )
    outside = np.isnan(chosen)
    where = f"sampled on {template.attribute}"
    reason = f"{where}: selectivity outside every bucket's tolerance (x{spec.tolerance:g})"
    notes = _left_out_notes(frame[outside], nearest[outside], reason, table.num_rows)
    frame["selectivity_bucket"] = chosen
    frame = frame[~outside]
    notes += _empty_bucket_notes(spec, frame, where)
    return frame.to_dict("records"), notes


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


def _shortfall(
    filter_type: str, bucket: float, requested: int | None, filled: int, left_out: int, note: str
) -> dict[str, Any]:
    return {
        "filter_type": filter_type,
        "selectivity_bucket": float(bucket),
        "requested": np.nan if requested is None else float(requested),
        "filled": int(filled),
        "left_out": int(left_out),
        "note": note,
    }


def _shortfall_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=SHORTFALL_COLUMNS)
    return frame.astype(
        {"filter_type": str, "selectivity_bucket": float, "requested": float, "filled": int, "left_out": int}
    )


def _selectivities(value: Any) -> tuple[float, ...]:
    """`workload.selectivities` as floats, or `ConfigError` naming the value."""
    values = value if isinstance(value, list | tuple) else [value]
    try:
        return tuple(float(v) for v in values)
    except (TypeError, ValueError):
        raise ConfigError(
            f"workload.selectivities: expected a list of numbers in (0, 1], got {value!r}"
        ) from None


def _paths(value: Any) -> str | tuple[str, ...] | None:
    return tuple(value) if isinstance(value, list | tuple) else value


def _as_plain(value: Any) -> Any:
    if hasattr(value, "__dataclass_fields__"):  # unset optional fields left out: digests stay put
        fields = value.__dataclass_fields__
        return {k: _as_plain(getattr(value, k)) for k in fields if not _unset(value, k)}
    if isinstance(value, list | tuple):
        return [_as_plain(v) for v in value]
    return value


def _unset(value: Any, field: str) -> bool:
    """A field added after digests were published, still at its default (None)."""
    return field in OPTIONAL_FIELDS and getattr(value, field) is None


OPTIONAL_FIELDS = {"selectivities"}
