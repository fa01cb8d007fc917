"""Recall: the paper's micro-average and the tie-aware per-query mean, on hand-made cases."""

import numpy as np
import pytest

from fanns_bench.errors import WorkloadError
from fanns_bench.groundtruth import GroundTruth
from fanns_bench.metrics import recall_paper, recall_per_query, recall_tie_aware


def truth_of(rows, depth=4):
    ids = np.full((len(rows), depth), -1)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = row
    return GroundTruth(ids, np.zeros(ids.shape, dtype=np.float32))


def test_paper_recall_is_micro_averaged_over_min_k_truth():
    truth = truth_of([[1, 2, 3, 4], [5]])
    results = np.array([[1, 2, 9, 9], [5, -1, -1, -1]])
    # query 0: 2 hits of 4; query 1: 1 hit of min(4, 1) = 1 -> (2 + 1) / (4 + 1)
    assert recall_paper(results, truth, 4) == pytest.approx(3 / 5)
    assert recall_per_query(results, truth, 4).tolist() == [0.5, 1.0]


def test_queries_without_matches_do_not_count():
    truth = truth_of([[1, 2], []])
    results = np.array([[1, 2, -1, -1], [-1, -1, -1, -1]])
    assert recall_paper(results, truth, 2) == 1.0
    assert np.isnan(recall_per_query(results, truth, 2)[1])


def test_k_deeper_than_truth_is_an_error():
    with pytest.raises(WorkloadError, match="k=5 exceeds the ground truth depth 4"):
        recall_paper(np.zeros((1, 5), dtype=int), truth_of([[1]]), 5)


def test_tie_aware_counts_an_equally_close_neighbour():
    vectors = np.array([[1, 0], [1, 0], [0, 1], [0.5, 0.5]], dtype=np.float32)
    queries = np.array([[1, 0]], dtype=np.float32)
    truth = GroundTruth(np.array([[0, 3, 2, -1]]), np.array([[1, 0.5, 0, np.nan]], dtype=np.float32))
    returned = np.array([[1]])  # a different id with the same score as the true top-1
    match_ids = [np.array([0, 1, 2, 3])]
    assert recall_paper(returned, truth, 1) == 0.0
    assert recall_tie_aware(returned, truth, 1, queries, vectors, match_ids, "ip") == 1.0


def test_tie_aware_ignores_ids_outside_the_filter():
    vectors = np.array([[1, 0], [1, 0], [0, 1]], dtype=np.float32)
    queries = np.array([[1, 0]], dtype=np.float32)
    truth = GroundTruth(np.array([[0, 2]]), np.array([[1, 0]], dtype=np.float32))
    returned = np.array([[1]])  # ties with id 0 but does not satisfy the filter
    assert recall_tie_aware(returned, truth, 1, queries, vectors, [np.array([0, 2])], "ip") == 0.0
