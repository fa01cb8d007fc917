"""Ground truth: exact filtered top-K against brute force, both paths, both metrics."""

import numpy as np
import pytest

from fanns_bench.groundtruth import GroundTruth, compute_ground_truth

rng = np.random.default_rng(0)


def brute_force(queries, vectors, match_ids, depth, metric):
    out = []
    for q, ids in zip(queries, match_ids, strict=True):
        if metric == "ip":
            scores = vectors[ids] @ q
        else:
            scores = -((vectors[ids] - q) ** 2).sum(axis=1)
        order = np.argsort(-scores, kind="stable")[:depth]
        out.append(ids[order])
    return out


@pytest.mark.parametrize("metric", ["ip", "l2"])
@pytest.mark.parametrize("selectivity", [0.01, 0.3, 1.0])
def test_matches_brute_force(metric, selectivity):
    vectors = rng.normal(size=(3000, 12)).astype(np.float32)
    queries = rng.normal(size=(20, 12)).astype(np.float32)
    match_ids = [np.sort(rng.choice(3000, int(selectivity * 3000), replace=False)) for _ in queries]
    truth = compute_ground_truth(queries, vectors, match_ids, 50, metric)
    expected = brute_force(queries, vectors, match_ids, 50, metric)
    for row, want in zip(truth.ids, expected, strict=True):
        assert row[: len(want)].tolist() == want.tolist()
        assert (row[len(want) :] == -1).all()
    for ids, scores in zip(truth.ids, truth.scores, strict=True):
        assert np.all(np.diff(scores[ids >= 0]) <= 1e-6)


def test_fewer_matches_than_depth_are_padded_not_filled():
    vectors = rng.normal(size=(500, 4)).astype(np.float32)
    queries = rng.normal(size=(2, 4)).astype(np.float32)
    match_ids = [np.array([3, 7, 11]), np.array([], dtype=np.int64)]
    truth = compute_ground_truth(queries, vectors, match_ids, 10, "ip")
    assert sorted(truth.ids[0, :3].tolist()) == [3, 7, 11]
    assert (truth.ids[0, 3:] == -1).all() and np.isnan(truth.scores[0, 3:]).all()
    assert (truth.ids[1] == -1).all()
    assert truth.counts.tolist() == [3, 0]


def test_dense_path_pads_when_matches_fewer_than_depth():
    vectors = rng.normal(size=(64, 4)).astype(np.float32)
    queries = rng.normal(size=(3, 4)).astype(np.float32)
    match_ids = [np.arange(0, 64, 2)] * 3  # 50 % selectivity, 32 matches < depth 40
    truth = compute_ground_truth(queries, vectors, match_ids, 40, "ip")
    assert truth.counts.tolist() == [32, 32, 32]
    assert set(truth.ids[0, :32].tolist()) == set(range(0, 64, 2))


def test_save_load_round_trip(tmp_path):
    truth = GroundTruth(np.array([[1, -1]]), np.array([[0.5, np.nan]], dtype=np.float32))
    truth.save(tmp_path / "gt.npz")
    again = GroundTruth.load(tmp_path / "gt.npz")
    assert again.ids.tolist() == [[1, -1]] and again.depth == 2
