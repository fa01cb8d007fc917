"""`ivf_prefilter`: k-means inverted lists; per query, exact scores over the items of the
`nprobe` nearest lists that satisfy the query's filter (a pre-filtered IVF)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fanns_bench.errors import MethodError
from fanns_bench.methods.base import ANY_FILTER, FilterBatch, Method
from fanns_bench.methods.params import Param


@dataclass(frozen=True)
class Masks:
    """The filter input: one boolean mask over the items per distinct predicate of the batch,
    and for each query the index of its mask."""

    masks: list[np.ndarray]
    set_of_query: np.ndarray


class IVFPrefilter(Method):
    """Inverted-file index searched with the filter applied inside the probed lists."""

    name = "ivf_prefilter"
    build_parameters = {
        "nlist": Param(int, 16, "inverted lists (k-means centroids)", minimum=1),
        "iterations": Param(int, 8, "k-means iterations", minimum=1),
        "seed": Param(int, 0, "seed of the initial centroids"),
    }
    search_parameters = {"nprobe": Param(int, 4, "lists scanned per query", minimum=1)}
    capabilities = ANY_FILTER  # the harness evaluates any predicate into ids for us
    requires = ()  # numpy only: nothing beyond fanns-bench's own dependencies
    threading = "single"  # search ignores `threads`
    deterministic_build = "always"  # seeded k-means in numpy: the same index for the same seed
    description = "example plugin: numpy IVF, scanning only the matching items of the probed lists"

    def __init__(self, metric: str, threads: int = 1, **build_params: object) -> None:
        super().__init__(metric, threads, **build_params)  # checks and completes build_params
        if metric not in ("ip", "l2"):
            raise MethodError(f"{self.name}: metric {metric!r} is not supported (ip or l2)")
        self._distances = 0.0

    def build(self, dataset) -> None:
        vectors = np.asarray(dataset.vectors, dtype=np.float32)
        rng = np.random.default_rng(self.build_params["seed"])
        nlist = min(self.build_params["nlist"], len(vectors))
        centroids = vectors[rng.choice(len(vectors), nlist, replace=False)].copy()
        for _ in range(self.build_params["iterations"]):
            assignment = np.argmax(self._scores(vectors, centroids), axis=1)
            for c in range(nlist):
                members = vectors[assignment == c]
                if len(members):
                    centroids[c] = members.mean(axis=0)
        assignment = np.argmax(self._scores(vectors, centroids), axis=1)
        self._vectors = vectors
        self._centroids = centroids
        self._lists = [np.flatnonzero(assignment == c) for c in range(nlist)]

    def prepare_filters(self, batch: FilterBatch) -> Masks:
        """All predicate work happens here (timed in `qps`, not in `qps_given_filter`)."""
        masks = []
        for ids in batch.match_ids():  # one sorted id array per distinct predicate
            mask = np.zeros(batch.num_items, dtype=bool)
            mask[ids] = True
            masks.append(mask)
        return Masks(masks, batch.set_of_query)

    def search(self, queries: np.ndarray, filters: Masks, k: int, nprobe: int) -> np.ndarray:
        out = np.full((len(queries), k), -1, dtype=np.int64)
        nearest = np.argsort(-self._scores(queries, self._centroids), axis=1)[:, :nprobe]
        scored = 0
        for i, query in enumerate(queries):
            candidates = np.concatenate([self._lists[c] for c in nearest[i]])
            candidates = candidates[filters.masks[filters.set_of_query[i]][candidates]]
            if not len(candidates):
                continue
            scores = self._scores(query[None, :], self._vectors[candidates])[0]
            best = np.argsort(-scores, kind="stable")[:k]
            out[i, : len(best)] = candidates[best]
            scored += len(candidates) + len(self._centroids)
        self._distances = scored / max(1, len(queries))
        return out

    def memory_bytes(self) -> int:
        """Centroids and lists (the vectors are the dataset's, read in place)."""
        return self._centroids.nbytes + sum(ids.nbytes for ids in self._lists)

    def stats(self) -> dict[str, float]:
        return {"distance_computations": self._distances}

    def _scores(self, queries: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Higher is closer: inner product, or negative squared L2."""
        if self.metric == "ip":
            return queries @ items.T
        squared = (items * items).sum(axis=1)[None, :] + (queries * queries).sum(axis=1)[:, None]
        return 2 * queries @ items.T - squared
