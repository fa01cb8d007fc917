"""The inputs both sides of a fidelity check read: one dataset and queries per selectivity.

The dataset is the shipped arXiv sample, the previous astro-ph one (both through their builder
and the project's loader) or the package's seeded synthetic generator, written again with one
extra ordered attribute, `position`: each item's rank by a source attribute (ties broken by
id), so range filters of exactly `s * N` positions have selectivity `s` on both sides. Every
selectivity gets the same held-out query vectors; the filters come from the method's adapter and the exact
filtered ground truth from `groundtruth.compute_ground_truth` (squared L2, as the authors'
programs use; the vectors are L2-normalised, so the order is the inner product's too).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from fanns_bench.data import arxiv_sample, synthetic
from fanns_bench.data.dataset import Dataset, load_dataset, write_dataset
from fanns_bench.errors import ConfigError
from fanns_bench.filters.predicates import Predicate, Range
from fanns_bench.groundtruth import GroundTruth, compute_ground_truth

METRIC = "l2"
POSITION = "position"
#: per data source: (builder, keyword arguments, attribute ranked into `position`, label attributes)
SOURCES = {
    "arxiv_sample": (arxiv_sample.build, {}, "update_date", ("sub_categories", "number_of_sub_categories")),
    # the previous shipped sample (astro-ph only): EMIS on `sub_categories` has query labels with
    # several smallest matching label sets (hep-ph at 0.094, the hard case of UNG's entry points)
    "arxiv_astroph_sample": (
        arxiv_sample.build,
        {"sample": "arxiv_astroph_sample"},
        "update_date",
        ("sub_categories", "number_of_sub_categories"),
    ),
    "synthetic": (
        synthetic.build,
        {"count": 10_000, "dimension": 64, "seed": 0},
        "score",
        ("tags", "category"),
    ),
}


@dataclass(frozen=True)
class Labels:
    """The attributes label filters use: a set attribute (containment, EMIS) and a scalar one
    (equality, EM)."""

    set_attribute: str
    scalar_attribute: str


@dataclass(frozen=True)
class Slice:
    """The queries of one selectivity: one filter each, their matches and ground truth."""

    selectivity: float  # asked for
    achieved: float  # mean fraction of items matching the queries' filters
    queries: np.ndarray
    predicates: list[Predicate]
    match_ids: list[np.ndarray]
    truth: GroundTruth
    label: str  # what the filter is, for the table (e.g. "sub_categories=hep-ph")


def exchange_dataset(source: str, folder: Path) -> tuple[Dataset, Labels]:
    """Build `source` under `folder/source` and write it with `position` to `folder/dataset`;
    returns the dataset and the attributes label filters use."""
    if source not in SOURCES:
        raise ConfigError(f"--data {source!r}: expected one of {', '.join(SOURCES)}")
    builder, params, ranked, labels = SOURCES[source]
    built = builder(folder / "source", source, **params)
    table = built.attributes.table
    values = np.asarray(table.column(ranked).to_numpy(zero_copy_only=False))
    order = np.lexsort((np.arange(len(values)), values))
    position = np.empty(len(values), dtype=np.int64)
    position[order] = np.arange(len(values))
    written = write_dataset(
        folder / "dataset",
        name=f"{source}_fidelity",
        vectors=built.vectors,
        queries=built.queries,
        attributes=table.append_column(POSITION, pa.array(position)),
        metric=METRIC,
        builder="fidelity",
        extra={"source": source, "position_from": ranked},
    )
    return load_dataset(written.path), Labels(*labels)


def make_slice(
    dataset: Dataset, selectivity: float, predicates: list[Predicate], label: str, queries: int, k: int
) -> Slice:
    """Queries `0..queries-1` of the dataset with `predicates`, and their exact top-k."""
    vectors = np.asarray(dataset.queries[:queries], dtype=np.float32)
    index = dataset.attribute_index
    match_ids = [index.evaluate(p) for p in predicates]
    truth = compute_ground_truth(vectors, dataset.vectors, match_ids, k, METRIC, threads=1)
    achieved = float(np.mean([len(m) for m in match_ids]) / dataset.count)
    return Slice(selectivity, achieved, vectors, predicates, match_ids, truth, label)


def position_ranges(
    dataset: Dataset, selectivity: float, queries: int, seed: int
) -> tuple[list[Predicate], str]:
    """Ranges of exactly round(selectivity * N) positions, starts drawn with `seed`."""
    width = min(dataset.count, max(1, round(selectivity * dataset.count)))
    starts = np.random.default_rng(seed).integers(0, dataset.count - width + 1, queries)
    return [Range(POSITION, int(a), int(a) + width - 1) for a in starts], f"{POSITION} ranges of {width}"
