"""Everything a sweep measures against: dataset, workload and ground truth, cached on disk.

Workloads and their ground truth live in `<dataset>/workloads/<name>-<hash>/`, where the
hash covers the dataset's content and the workload spec, so a changed dataset or spec
never reuses a stale workload.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fanns_bench.data.dataset import Dataset, load_dataset
from fanns_bench.errors import WorkloadError
from fanns_bench.filters.attribute_index import AttributeIndex
from fanns_bench.groundtruth import GroundTruth, compute_ground_truth
from fanns_bench.scoring import scores as score_matrix
from fanns_bench.workloads.workload import Workload, WorkloadSpec, generate_workload

log = logging.getLogger(__name__)


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
    digest = hashlib.sha256((dataset.content_hash + spec.digest()).encode()).hexdigest()[:12]
    return dataset.path / "workloads" / f"{spec.name}-{digest}", digest


def prepare_context(dataset: Dataset, spec: WorkloadSpec) -> Context:
    """Load the workload and ground truth from the cache, generating what is missing."""
    directory, digest = workload_dir(dataset, spec)
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
    """The workload's own ground truth ids (as published), with their exact scores."""
    queries, vectors = context.query_vectors, context.dataset.vectors
    ids = np.full((len(queries), depth), -1, dtype=np.int64)
    scores = np.full((len(queries), depth), np.nan, dtype=np.float32)
    for i, given in enumerate(context.workload.table["gt_ids"]):
        given = np.asarray(given, dtype=np.int64)[:depth]
        given = given[given >= 0]
        ids[i, : len(given)] = given
        found = score_matrix(queries[i : i + 1], np.asarray(vectors[given]), context.dataset.metric)
        scores[i, : len(given)] = found[0]
    return GroundTruth(ids, scores)


def load_context(dataset_path: Path, directory: Path, name: str, digest: str) -> Context:
    """Reopen a prepared context (in a worker process)."""
    dataset = load_dataset(dataset_path)
    workload = Workload.load(directory, name)
    truth = GroundTruth.load(directory / "groundtruth.npz")
    return Context(dataset, workload, truth, directory, digest)
