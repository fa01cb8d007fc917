"""Everything a sweep measures against: dataset, workload and ground truth, cached on disk.

Workloads and their ground truth live in `<dataset>/workloads/<name>-<hash>/`, where the
hash covers the dataset's content and metric, the workload spec, the content of the files
a `file`-mode workload reads, and the versions of the workload generator and of the
ground-truth / predicate-evaluation code, so a change to any of them never reuses a stale
workload or ground truth. A ground truth given with a workload is checked against exact
search on a sample of its queries before it is used.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fanns_bench.atomic_files import write_text_atomic
from fanns_bench.data.dataset import Dataset, load_dataset
from fanns_bench.data.file_hashes import file_hash
from fanns_bench.errors import DatasetError, WorkloadError
from fanns_bench.filters.attribute_index import AttributeIndex
from fanns_bench.given_truth import SCORE_TOLERANCE, check_row
from fanns_bench.groundtruth import GROUND_TRUTH_VERSION, GroundTruth, compute_ground_truth
from fanns_bench.scoring import scores as score_matrix
from fanns_bench.workloads.workload import (
    WORKLOAD_VERSION,
    Workload,
    WorkloadSpec,
    generate_workload,
    given_paths,
)

log = logging.getLogger(__name__)
CONTENT_FILE = "dataset_content_hash.txt"  # the content the workload and ground truth were made on
GIVEN_TRUTH_SAMPLE = 20  # queries whose given ground truth is checked against exact search
GIVEN_TRUTH_SEED = 0


@dataclass
class Context:
    """A dataset with one workload, its ground truth, and each query's matching ids."""

    dataset: Dataset
    workload: Workload
    truth: GroundTruth
    workload_dir: Path
    digest: str
    _matches: list[np.ndarray] | None = field(default=None, repr=False)

    @property
    def attributes(self) -> AttributeIndex:
        """The dataset's attribute index, built on first use (its build time is recorded)."""
        return self.dataset.attribute_index

    @property
    def match_ids(self) -> list[np.ndarray]:
        """Sorted matching ids per query (for ground truth and metrics, never timed);
        queries with the same predicate share one array."""
        if self._matches is None:
            cache: dict[object, np.ndarray] = {}
            self._matches = [
                cache[p] if p in cache else cache.setdefault(p, self.attributes.evaluate(p))
                for p in self.workload.predicates
            ]
        return self._matches

    @property
    def query_vectors(self) -> np.ndarray:
        return np.asarray(self.dataset.queries)[self.workload.table["query_index"].to_numpy()]


def workload_dir(dataset: Dataset, spec: WorkloadSpec) -> tuple[Path, str]:
    """The cache directory of `spec` on `dataset`, and its digest (see the module docstring)."""
    parts = [
        dataset.content_hash,
        dataset.metric,
        spec.digest(),
        f"workload-v{WORKLOAD_VERSION}",
        f"groundtruth-v{GROUND_TRUTH_VERSION}",
        *(given_files_digest(spec, dataset) if spec.mode == "file" else []),
    ]
    digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:12]
    return dataset.path / "workloads" / f"{spec.name}-{digest}", digest


def given_files_digest(spec: WorkloadSpec, dataset: Dataset) -> list[str]:
    """sha256 of each file a `file`-mode workload reads (a missing file: its name)."""
    digests = []
    for path in given_paths(spec, dataset):
        digests.append(file_hash(path) if path.is_file() else f"missing:{path}")
    return digests


def prepare_context(dataset: Dataset, spec: WorkloadSpec) -> Context:
    """Load the workload and ground truth from the cache, generating what is missing."""
    directory, digest = workload_dir(dataset, spec)
    directory.mkdir(parents=True, exist_ok=True)
    if not (directory / CONTENT_FILE).is_file():
        write_text_atomic(directory / CONTENT_FILE, dataset.content_hash)
    if (directory / "workload.parquet").is_file():
        workload = Workload.load(directory, spec.name)
    else:
        log.info("generating workload %s on %s", spec.name, dataset.name)
        workload = generate_workload(spec, dataset)
        workload.save(directory)
    context = Context(dataset, workload, GroundTruth(np.empty((0, 0)), np.empty((0, 0))), directory, digest)
    empty = workload.table.index[workload.table.match_count == 0]
    if len(empty):
        row = workload.table.loc[empty[0]]
        raise WorkloadError(
            f"workload {spec.name!r}: {len(empty)} queries match no item (first: query "
            f"{row.query_index}, filter {row.predicate}); drop them or widen their filters"
        )
    truth_path = directory / "groundtruth.npz"
    if truth_path.is_file():
        context.truth = GroundTruth.load(truth_path)
    elif "gt_ids" in workload.table:
        log.info("using the ground truth given with workload %s", spec.name)
        context.truth = given_ground_truth(context, spec.ground_truth_depth)
        context.truth.save(truth_path)
    else:
        log.info(
            "computing exact filtered top-%d for %d queries",
            spec.ground_truth_depth,
            len(workload.table),
        )
        context.truth = compute_ground_truth(
            context.query_vectors,
            dataset.vectors,
            context.match_ids,
            spec.ground_truth_depth,
            dataset.metric,
        )
        context.truth.save(truth_path)
    return context


def given_ground_truth(context: Context, depth: int) -> GroundTruth:
    """The workload's own ground truth ids (as published), with their exact scores.

    Checked first on a seeded sample of queries (`check_given_truth`).
    """
    queries, vectors = context.query_vectors, context.dataset.vectors
    count = context.dataset.count
    table = context.workload.table
    ids = np.full((len(queries), depth), -1, dtype=np.int64)
    scores = np.full((len(queries), depth), np.nan, dtype=np.float32)
    for i, given in enumerate(table["gt_ids"]):
        given = np.asarray(given, dtype=np.int64)[:depth]
        given = given[given >= 0]
        outside = given[given >= count]
        if len(outside):
            raise WorkloadError(
                f"workload {context.workload.name!r}: given ground truth of query "
                f"{int(table.query_index.iloc[i])} holds id {int(outside[0])}, but the dataset "
                f"has {count} items"
            )
        ids[i, : len(given)] = given
        found = score_matrix(queries[i : i + 1], np.asarray(vectors[given]), context.dataset.metric)
        scores[i, : len(given)] = found[0]
    truth = GroundTruth(ids, scores)
    check_given_truth(context, truth)
    return truth


def check_given_truth(context: Context, truth: GroundTruth, sample: int = GIVEN_TRUTH_SAMPLE) -> None:
    """Compare given ground truth with exact search on `sample` queries (seeded).

    Raises `WorkloadError` naming the query and the id when an id does not satisfy the
    query's filter, when the ids are not best first, or when an id is not among the exact
    top (its score falls short of exact search's at that rank). Ids that differ from exact
    search only among scores equal within `SCORE_TOLERANCE` are logged as near-ties
    (`given_truth.check_row`, shared with the published-data cross-check).
    """
    table, dataset = context.workload.table, context.dataset
    rng = np.random.default_rng(GIVEN_TRUTH_SEED)
    rows = np.sort(rng.choice(len(table), min(sample, len(table)), replace=False))
    if not len(rows):
        return
    queries = context.query_vectors[rows]
    predicates = [context.workload.predicates[r] for r in rows]
    matches = [context.attributes.evaluate(p) for p in predicates]
    exact = compute_ground_truth(queries, dataset.vectors, matches, truth.depth, dataset.metric, threads=1)
    near_ties = short = 0
    for position, row in enumerate(rows):
        name = (
            f"workload {context.workload.name!r}: given ground truth of query "
            f"{int(table.query_index.iloc[row])} (filter {table.predicate.iloc[row]})"
        )
        kept = truth.ids[row] >= 0
        exact_ids, exact_scores = exact.ids[position], exact.scores[position]
        verdict = check_row(
            truth.ids[row][kept], truth.scores[row][kept], exact_ids, exact_scores, matches[position]
        )
        if verdict.problem:
            raise WorkloadError(f"{name}: {verdict.message}")
        short += verdict.short
        near_ties += verdict.near_tie
    if near_ties:
        log.warning(
            "workload %s: given ground truth differs from exact search only among near-tied scores "
            "(within %g) on %d of %d checked queries",
            context.workload.name,
            SCORE_TOLERANCE,
            near_ties,
            len(rows),
        )
    if short:
        log.warning(
            "workload %s: given ground truth lists fewer ids than the query's matches allow (up to "
            "depth %d) on %d of %d checked queries",
            context.workload.name,
            truth.depth,
            short,
            len(rows),
        )


def load_context(dataset_path: Path, directory: Path, name: str, digest: str) -> Context:
    """Reopen a prepared context (in a worker process); a dataset edited since the context
    was prepared is a `DatasetError` (the workload and ground truth describe the old content)."""
    dataset = load_dataset(dataset_path)
    recorded = directory / CONTENT_FILE
    if recorded.is_file() and recorded.read_text().strip() != dataset.content_hash:
        files = ", ".join(dataset.edited) or "its files"
        raise DatasetError(
            f"dataset {dataset.name!r} at {dataset_path}: {files} changed during the run (content "
            f"{dataset.content_hash}, the workload was prepared on {recorded.read_text().strip()}); "
            "rerun to measure the current content"
        )
    workload = Workload.load(directory, name)
    truth = GroundTruth.load(directory / "groundtruth.npz")
    return Context(dataset, workload, truth, directory, digest)
