"""Ground truth: exact filtered top-K against brute force, both paths, both metrics."""

import numpy as np
import pytest

from fanns_bench.errors import WorkloadError
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


def reference(queries, vectors, match_ids, depth, metric):
    """Brute force in float64: ids best first, ties by the smaller id; -1 / NaN padded."""
    ids = np.full((len(queries), depth), -1, dtype=np.int64)
    best = np.full((len(queries), depth), np.nan)
    for row, (q, matches) in enumerate(zip(queries.astype(np.float64), match_ids, strict=True)):
        candidates = vectors[matches].astype(np.float64)
        if metric == "ip":
            score = candidates @ q
        else:
            score = -((candidates - q) ** 2).sum(axis=1)
        order = np.lexsort((matches, -score))[:depth]
        ids[row, : len(order)], best[row, : len(order)] = matches[order], score[order]
    return ids, best


def random_masks(count, nq, selectivity, generator):
    size = int(round(selectivity * count))
    return [np.sort(generator.choice(count, size, replace=False)) for _ in range(nq)]


@pytest.mark.parametrize("metric", ["ip", "l2"])
@pytest.mark.parametrize("selectivity", [0.0, 0.002, 0.03, 0.2, 0.5, 0.9, 1.0])
@pytest.mark.parametrize("dimension", [7, 48])
def test_core_kernel_equals_float64_brute_force(metric, selectivity, dimension):
    generator = np.random.default_rng(int(selectivity * 1000) + dimension)
    count, nq, depth = 1500, 29, 40  # not multiples of any panel or tile size
    vectors = generator.normal(size=(count, dimension)).astype(np.float32)
    queries = generator.normal(size=(nq, dimension)).astype(np.float32)
    match_ids = random_masks(count, nq, selectivity, generator)
    truth = compute_ground_truth(queries, vectors, match_ids, depth, metric, threads=2)
    ids, best = reference(queries, vectors, match_ids, depth, metric)
    assert truth.ids.tolist() == ids.tolist()
    np.testing.assert_allclose(truth.scores, best, rtol=1e-4, atol=1e-4)
    assert truth.ids.dtype == np.int64 and truth.scores.dtype == np.float32


@pytest.mark.parametrize("metric", ["ip", "l2"])
def test_mixed_masks_fewer_matches_than_depth_and_empty(metric):
    generator = np.random.default_rng(5)
    count, depth = 2000, 25
    vectors = generator.normal(size=(count, 16)).astype(np.float32)
    queries = generator.normal(size=(6, 16)).astype(np.float32)
    match_ids = [
        np.array([], dtype=np.int64),  # empty mask
        np.array([4, 1999]),  # fewer matches than depth, sparse path
        np.arange(0, count, 100),  # 20 matches, still fewer than depth
        np.arange(count),  # everything
        np.arange(1, count, 2),  # half
        np.array([], dtype=np.int64),
    ]
    truth = compute_ground_truth(queries, vectors, match_ids, depth, metric, threads=1)
    ids, best = reference(queries, vectors, match_ids, depth, metric)
    assert truth.ids.tolist() == ids.tolist()
    assert truth.counts.tolist() == [0, 2, 20, 25, 25, 0]
    assert np.isnan(truth.scores[0]).all() and np.isnan(truth.scores[2, 20:]).all()
    np.testing.assert_allclose(truth.scores, best, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("metric", ["ip", "l2"])
@pytest.mark.parametrize("selectivity", [0.01, 0.6])
def test_exact_ties_go_to_the_smaller_id(metric, selectivity):
    generator = np.random.default_rng(11)
    distinct = generator.normal(size=(50, 8)).astype(np.float32)
    vectors = distinct[generator.integers(0, 50, size=3000)]  # every vector repeated ~60 times
    queries = generator.normal(size=(9, 8)).astype(np.float32)
    match_ids = random_masks(3000, 9, selectivity, generator)
    truth = compute_ground_truth(queries, vectors, match_ids, 30, metric)
    ids, _ = reference(queries, vectors, match_ids, 30, metric)
    assert truth.ids.tolist() == ids.tolist()


def test_thread_count_and_kernel_do_not_change_the_answer():
    from fanns_bench import _core

    generator = np.random.default_rng(3)
    vectors = generator.normal(size=(2500, 33)).astype(np.float32)
    queries = generator.normal(size=(40, 33)).astype(np.float32)
    match_ids = random_masks(2500, 40, 0.4, generator) + random_masks(2500, 0, 0.4, generator)
    one = compute_ground_truth(queries, vectors, match_ids, 20, "ip", threads=1)
    three = compute_ground_truth(queries, vectors, match_ids, 20, "ip", threads=3)
    previous = _core.force_scalar_kernels(True)
    try:
        assert _core.groundtruth_kernel() == "scalar"
        plain = compute_ground_truth(queries, vectors, match_ids, 20, "ip", threads=2)
    finally:
        _core.force_scalar_kernels(previous)
    assert one.ids.tolist() == three.ids.tolist() == plain.ids.tolist()
    np.testing.assert_allclose(one.scores, plain.scores, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    ("ids", "message"),
    [
        ([5, 3], "not sorted ascending without repeats \\(3 after 5\\)"),
        ([2, 2], "not sorted ascending without repeats \\(2 after 2\\)"),
        ([1, 100], "id 100 is not below the base size 100"),
        ([-1, 4], "id -1 is negative"),
    ],
)
@pytest.mark.parametrize("padding", [0, 30])  # 30 more ids: the blocked path, else the gathering one
def test_bad_match_ids_are_named_not_crashed_on(ids, message, padding):
    generator = np.random.default_rng(0)
    vectors = generator.normal(size=(100, 4)).astype(np.float32)
    queries = generator.normal(size=(2, 4)).astype(np.float32)
    if ids[1] == 100:
        bad = np.array(ids[:1] + list(range(20, 20 + padding)) + ids[1:])
    else:
        bad = np.array(ids + list(range(50, 50 + padding)))
    with pytest.raises(WorkloadError, match=f"query 1: {message}"):
        compute_ground_truth(queries, vectors, [np.arange(3), bad], 5, "ip")


@pytest.mark.parametrize("metric", ["ip", "l2"])
@pytest.mark.parametrize("selectivity", [0.3, 1.0])
def test_several_base_tiles_and_query_blocks(metric, selectivity):
    """dim 300: the core packs ~830 base items per tile, so 2,000 items span three tiles."""
    generator = np.random.default_rng(17)
    vectors = generator.normal(size=(2000, 300)).astype(np.float32)
    queries = generator.normal(size=(50, 300)).astype(np.float32)
    match_ids = random_masks(2000, 50, selectivity, generator)
    truth = compute_ground_truth(queries, vectors, match_ids, 15, metric, threads=4)
    ids, best = reference(queries, vectors, match_ids, 15, metric)
    assert truth.ids.tolist() == ids.tolist()
    np.testing.assert_allclose(truth.scores, best, rtol=1e-4, atol=1e-3)
