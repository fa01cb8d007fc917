"""Measurement: the same work in every timed repetition, filter preparation timed in `qps`
and not in `qps_given_filter`, QPS from the median batch, returned ids kept."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pyarrow as pa

from fanns_bench.filters.attribute_index import AttributeIndex
from fanns_bench.filters.evaluate import AttributeTable
from fanns_bench.filters.predicates import Eq
from fanns_bench.groundtruth import GroundTruth
from fanns_bench.methods.base import FilterBatch, Method
from fanns_bench.methods.common.id_sets import IdSets, id_sets
from fanns_bench.runner.measure import measure

N, K = 20, 2
VECTORS = np.eye(N, dtype=np.float32)
ATTRIBUTES = AttributeIndex(AttributeTable(pa.table({"c": pa.array([i % 2 for i in range(N)])})))


class SlowFilters(Method):
    """Answers exactly; its filter preparation sleeps 20 ms, its search 2 ms."""

    name = "slow_filters"

    def __init__(self, metric: str = "ip", threads: int = 1) -> None:
        super().__init__(metric, threads)
        self.prepared: list[FilterBatch] = []

    def build(self, dataset: Any) -> None:
        pass

    def prepare_filters(self, filters: FilterBatch) -> IdSets:
        time.sleep(0.02)
        self.prepared.append(filters)  # kept alive, so identities stay distinct
        return id_sets(filters)

    def search(self, queries: np.ndarray, filters: IdSets, k: int) -> np.ndarray:
        time.sleep(0.002)
        return np.stack([filters.members(s)[:k] for s in filters.rows])


def run(method: Method, repetitions: int = 3) -> dict[str, Any]:
    predicates = [Eq("c", 0), Eq("c", 1)]
    truth = GroundTruth(np.array([[0, 2], [1, 3]]), np.ones((2, 2), dtype=np.float32))
    match_ids = [ATTRIBUTES.evaluate(p) for p in predicates]
    return measure(
        method, VECTORS[:2], predicates, ATTRIBUTES, match_ids, truth, VECTORS, "ip", K, {},
        repetitions=repetitions, warmup=True, latency_queries=0,
    )  # fmt: skip


def test_filter_preparation_is_timed_in_qps_and_not_in_qps_given_filter():
    measured = run(SlowFilters())
    assert min(measured["batch_seconds"]) >= 0.02
    assert max(measured["search_seconds"]) < 0.02
    assert measured["qps_given_filter"] > 3 * measured["qps"]
    assert measured["filter_seconds"] >= 0.02


def test_every_timed_repetition_prepares_its_own_fresh_batch():
    method = SlowFilters()
    run(method, repetitions=3)
    assert len(method.prepared) == 1 + 3 + 1  # warm-up, each timed repetition, the given-filter input
    assert len({id(batch) for batch in method.prepared}) == 5  # never a batch carried over


def test_qps_is_queries_over_the_median_batch_and_ids_are_kept():
    measured = run(SlowFilters(), repetitions=5)
    assert measured["qps"] == 2 / float(np.median(measured["batch_seconds"]))
    assert len(measured["batch_seconds"]) == len(measured["search_seconds"]) == 5
    assert measured["ids"] == [0, 2, 1, 3]
    assert measured["recall"] == 1.0 and measured["filter_violations"] == 0
