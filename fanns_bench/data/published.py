"""The paper's published dataset (SPCL/arxiv-for-fanns-{small,medium,large}): load, convert, check.

Files (identical names at every scale)::

    database_vectors.fvecs        N x 4096 float32 (large: 44.8 GB, always memory-mapped)
    query_vectors.fvecs           10,000 x 4096
    database_attributes.jsonl     the 11 attributes, line i = vector i
    em_query_attributes.jsonl     {"label": int}: number_of_sub_categories == label
    r_query_attributes.jsonl      {"range_start": int, "range_end": int}:
                                  range_start <= update_date <= range_end (inclusive)
    emis_query_attributes.jsonl   {"label": str}: label in main_categories
    ground_truth.ivecs            unfiltered top-100 (0-based ids)
    ground_truth_{em,r,emis}.ivecs  filtered top-<=100 (shorter rows when fewer items match)

The paper searches with L2 on normalised vectors, so the converted store uses metric `l2`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from fanns_bench.data.arxiv_schema import ATTRIBUTE_KINDS, read_attributes_jsonl
from fanns_bench.data.dataset import Dataset, write_dataset
from fanns_bench.data.importers.common import (
    json_lines,
    workload_table,
    write_workload,
)
from fanns_bench.data.importers.formats import read_fvecs, read_ivecs
from fanns_bench.errors import DatasetError
from fanns_bench.filters.predicates import Contains, Eq, Predicate, Range
from fanns_bench.given_truth import check_row
from fanns_bench.groundtruth import compute_ground_truth
from fanns_bench.scoring import scores

__all__ = ["ATTRIBUTE_KINDS", "build", "convert", "crosscheck_ground_truth", "load_published"]
METRIC = "l2"
FILTER_TYPES = {
    "none": (None, "ground_truth.ivecs"),
    "EM": ("em_query_attributes.jsonl", "ground_truth_em.ivecs"),
    "R": ("r_query_attributes.jsonl", "ground_truth_r.ivecs"),
    "EMIS": ("emis_query_attributes.jsonl", "ground_truth_emis.ivecs"),
}
WORKLOAD_FILES = {"none": "paper_none", "EM": "paper_em", "R": "paper_r", "EMIS": "paper_emis"}


@dataclass
class PublishedDataset:
    """Memory-mapped views of one downloaded published scale."""

    directory: Path
    vectors: np.ndarray
    queries: np.ndarray

    def attributes(self) -> pa.Table:
        return read_attributes_jsonl(self.directory / "database_attributes.jsonl")

    def filter_types(self) -> list[str]:
        """The filter types whose ground truth (and query attributes) are present."""
        return [
            kind
            for kind, (attributes, truth) in FILTER_TYPES.items()
            if (self.directory / truth).is_file()
            and (attributes is None or (self.directory / attributes).is_file())
        ]

    def predicates(self, filter_type: str) -> list[Predicate | None]:
        attributes_file, _ = FILTER_TYPES[filter_type]
        if attributes_file is None:
            return [None] * self.queries.shape[0]
        path = self.directory / attributes_file
        return [paper_predicate(filter_type, row, f"{path}:{number}") for number, row in json_lines(path)]

    def ground_truth(self, filter_type: str) -> list[np.ndarray]:
        return read_ivecs(self.directory / FILTER_TYPES[filter_type][1])


def load_published(directory: str | Path) -> PublishedDataset:
    """Open a downloaded scale: vectors and queries memory-mapped, the rest read on demand."""
    directory = Path(directory)
    for required in ("database_vectors.fvecs", "query_vectors.fvecs", "database_attributes.jsonl"):
        if not (directory / required).is_file():
            raise DatasetError(
                f"{directory / required}: missing; download the published files first "
                "(see datasets/README.md)"
            )
    vectors = read_fvecs(directory / "database_vectors.fvecs")
    queries = read_fvecs(directory / "query_vectors.fvecs")
    if queries.shape[1] != vectors.shape[1]:
        raise DatasetError(f"{directory}: query dimension {queries.shape[1]} != database {vectors.shape[1]}")
    return PublishedDataset(directory, vectors, queries)


def paper_predicate(filter_type: str, row: Any, where: str) -> Predicate:
    """The predicate of one query attribute line (EM, R or EMIS), checked."""
    try:
        if filter_type == "EM":
            return Eq("number_of_sub_categories", _typed(row, "label", int))
        if filter_type == "R":
            start, end = _typed(row, "range_start", int), _typed(row, "range_end", int)
            return Range("update_date", start, end)
        if filter_type == "EMIS":
            return Contains("main_categories", _typed(row, "label", str))
    except (ValueError, TypeError) as error:
        raise DatasetError(f"{where}: {error}") from None
    raise DatasetError(f"{where}: unknown filter type {filter_type!r}")


def convert(source: str | Path, path: str | Path, *, name: str, block_rows: int = 65536) -> Dataset:
    """Convert a downloaded scale once into our store, plus `workloads/paper_*.parquet`."""
    published = load_published(source)
    attributes = published.attributes()
    if attributes.num_rows != published.vectors.shape[0]:
        raise DatasetError(
            f"{source}: {attributes.num_rows} attribute lines but "
            f"{published.vectors.shape[0]} database vectors"
        )
    dataset = write_dataset(
        Path(path),
        name=name,
        vectors=published.vectors,
        queries=published.queries,
        attributes=attributes,
        metric=METRIC,
        builder="published",
        extra={
            "source": "SPCL/arxiv-for-fanns (published files)",
            "embedding_model": "stella_en_400M_v5 (4096-d head), per the paper",
            "converted_from": str(Path(source).resolve()),
        },
        block_rows=block_rows,
    )
    for filter_type in published.filter_types():
        predicates = published.predicates(filter_type)
        if len(predicates) != published.queries.shape[0]:
            raise DatasetError(
                f"{source}: {len(predicates)} {filter_type} query attribute lines but "
                f"{published.queries.shape[0]} query vectors"
            )
        table = workload_table(
            filter_type, predicates, published.ground_truth(filter_type), dataset.attributes
        )
        write_workload(table, Path(path) / "workloads" / f"{WORKLOAD_FILES[filter_type]}.parquet")
    return dataset


@dataclass
class CrossCheck:
    """Given ground truth vs our exact search on a sample of queries."""

    filter_type: str
    checked: int
    k: int
    agreement: float
    disagreeing: list[int]
    not_matching_filter: list[int]
    wrong_length: list[int]

    @property
    def ok(self) -> bool:
        return not (self.disagreeing or self.not_matching_filter or self.wrong_length)


def crosscheck_ground_truth(
    dataset: Dataset,
    workload: pa.Table,
    *,
    sample: int = 20,
    k: int = 10,
    seed: int = 0,
    depth: int = 100,
) -> CrossCheck:
    """Compare `gt_ids` with exact filtered top-k on `sample` random queries.

    Each query's given ids are judged by `given_truth.check_row` (the runner's own check,
    one tolerance) against exact search to depth `k`: an id outside the dataset or the
    filter lands in `not_matching_filter`, ids not best first or not among the exact top
    in `disagreeing`. Also checks that each row holds min(depth, match_count) ids.
    """
    from fanns_bench.filters.predicates import from_json

    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(workload.num_rows, size=min(sample, workload.num_rows), replace=False))
    filter_type = workload.column("filter_type")[0].as_py() if workload.num_rows else "none"
    agreeing = total = 0
    disagreeing, not_matching, wrong_length = [], [], []
    for row in rows.tolist():
        entry = {name: workload.column(name)[row].as_py() for name in workload.column_names}
        matches = np.flatnonzero(dataset.attributes.mask(from_json(entry["predicate_json"])))
        given = np.asarray(entry["gt_ids"], dtype=np.int64)
        query = np.asarray(dataset.queries[entry["query_index"]], dtype=np.float32)
        if given.size != min(depth, matches.size):
            wrong_length.append(row)
        if given.size and (given.min() < 0 or given.max() >= dataset.count):
            not_matching.append(row)
            continue
        exact = compute_ground_truth(query[None, :], dataset.vectors, [matches], k, dataset.metric, 1)
        given_scores = scores(query[None, :], np.asarray(dataset.vectors[given]), dataset.metric)[0]
        verdict = check_row(given, given_scores, exact.ids[0], exact.scores[0], matches)
        agreeing += verdict.agreeing
        total += verdict.compared
        if verdict.problem == "filter":
            not_matching.append(row)
        elif verdict.problem:
            disagreeing.append(row)
    return CrossCheck(
        filter_type,
        len(rows),
        k,
        agreeing / total if total else 1.0,
        disagreeing,
        not_matching,
        wrong_length,
    )


def _typed(row: Any, key: str, kind: type) -> Any:
    if not isinstance(row, dict):
        raise TypeError(f"expected a JSON object, found {type(row).__name__}")
    value = row.get(key)
    if value is None:
        raise ValueError(f"missing key {key!r}")
    if not isinstance(value, kind) or isinstance(value, bool):
        raise TypeError(f"key {key!r} holds {value!r}; expected {kind.__name__}")
    return value


def build(path: Path, name: str, *, source: str, block_rows: int = 65536) -> Dataset:
    """Builder `published`: convert the downloaded files in `source` (see `convert`)."""
    return convert(source, path, name=name, block_rows=block_rows)
