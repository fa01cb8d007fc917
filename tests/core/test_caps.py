"""The compiled CAPS index (`_core.CapsIndex`) on small data (2k x 32)."""

from __future__ import annotations

import faiss
import numpy as np
import pytest

from fanns_bench import _core

N, DIM, K, CLUSTERS = 2000, 32, 10, 16
# Our search (exact top-k, open attributes fixed); the authors' is tested on its own.
OURS = {"exact_top_k": True, "fix_open_attributes": True}


def clustered(n: int, seed: int) -> np.ndarray:
    """Vectors from a 20-cluster mixture in 8 latent dims mapped to 32 (like embeddings)."""
    latent = np.random.default_rng(0)
    centres, mapping = latent.standard_normal((20, 8)), latent.standard_normal((8, DIM))
    rng = np.random.default_rng(seed)
    points = (centres[rng.integers(0, 20, n)] + 0.5 * rng.standard_normal((n, 8))) @ mapping
    return np.ascontiguousarray(points + 0.05 * rng.standard_normal((n, DIM)), dtype=np.float32)


VECTORS = clustered(N, 0)
QUERIES = clustered(50, 1)
RNG = np.random.default_rng(2)
# Two attributes: a skewed one with 30 values (value v has weight 1/(v+1)) and a 3-valued one.
SKEWED = RNG.choice(30, size=N, p=(w := 1 / np.arange(1, 31)) / w.sum())
SMALL = RNG.integers(0, 3, N)
VALUES = np.ascontiguousarray(np.stack([SKEWED, SMALL], axis=1), dtype=np.int64)


def kmeans() -> tuple[np.ndarray, np.ndarray]:
    km = faiss.Kmeans(DIM, CLUSTERS, niter=20, seed=1)
    km.train(VECTORS)
    _, nearest = km.index.search(VECTORS, 1)
    return np.ascontiguousarray(km.centroids), nearest[:, 0].astype(np.int64)


CENTROIDS, ASSIGNMENT = kmeans()


def make(tree_levels: int = 20) -> _core.CapsIndex:
    index = _core.CapsIndex(DIM, "l2", clusters=CLUSTERS, tree_levels=tree_levels)
    index.build(VECTORS, CENTROIDS, ASSIGNMENT, VALUES)
    return index


@pytest.fixture(scope="module")
def index():
    return make()


def exact(wanted: np.ndarray) -> list[np.ndarray]:
    out = []
    for q, want in enumerate(wanted):
        ok = np.ones(N, dtype=bool)
        for a, v in enumerate(want):
            if v >= 0:
                ok &= VALUES[:, a] == v
        ids = np.flatnonzero(ok)
        out.append(ids[np.argsort(((VECTORS[ids] - QUERIES[q]) ** 2).sum(1), kind="stable")[:K]])
    return out


def recall(found: np.ndarray, truth: list[np.ndarray]) -> float:
    hits = sum(
        len(set(row[row >= 0].tolist()) & set(t.tolist())) for row, t in zip(found, truth, strict=True)
    )
    return hits / max(1, sum(min(K, len(t)) for t in truth))


@pytest.mark.parametrize(
    "want",
    [[0, -1], [5, -1], [29, -1], [-1, 2], [3, 1], [-1, -1]],
    ids=["common", "medium", "rare", "other-attribute", "conjunction", "unfiltered"],
)
def test_results_match_and_recall_grows_with_budget(index, want):
    wanted = np.tile(np.array(want, dtype=np.int64), (len(QUERIES), 1))
    truth = exact(wanted)
    previous = -1.0
    for budget in (50, 200, N):
        ids, distances, counts = index.search(QUERIES, wanted, K, budget, 1, **OURS)
        for row in ids:
            returned = row[row >= 0]
            for a, v in enumerate(want):
                if v >= 0:
                    assert (VALUES[returned, a] == v).all()
            assert len(set(returned.tolist())) == len(returned)
        assert (counts <= budget).all()
        score = recall(ids, truth)
        assert score >= previous - 1e-9
        previous = score
    assert previous == 1.0  # a budget of N scans every match: exact


def test_budget_counts_distance_computations(index):
    wanted = np.tile(np.array([0, -1], dtype=np.int64), (len(QUERIES), 1))
    _, _, counts = index.search(QUERIES, wanted, K, 100, 1, **OURS)
    assert (counts == min(100, int((SKEWED == 0).sum()))).all()


def test_no_value_and_padding(index):
    wanted = np.array([[-2, -1], [29, 0]], dtype=np.int64)
    ids, _, counts = index.search(QUERIES[:2], wanted, K, 1000, 1, **OURS)
    assert (ids[0] == -1).all() and counts[0] == 0
    matches = np.flatnonzero((SKEWED == 29) & (SMALL == 0))
    assert len(matches) < K
    assert sorted(ids[1][: len(matches)].tolist()) == sorted(matches.tolist())
    assert (ids[1][len(matches) :] == -1).all()


def test_tree_buckets_partition_the_items(index):
    sizes = index.bucket_sizes()
    assert len(sizes) == CLUSTERS * 21
    assert sizes.sum() == N
    flat = make(tree_levels=0).bucket_sizes()
    assert np.array_equal(flat, np.bincount(ASSIGNMENT, minlength=CLUSTERS))


def test_one_and_two_threads_agree_and_builds_repeat(index):
    wanted = np.stack([np.arange(len(QUERIES)) % 30, -np.ones(len(QUERIES))], axis=1).astype(np.int64)
    one = index.search(QUERIES, wanted, K, 300, 1, **OURS)
    two = index.search(QUERIES, wanted, K, 300, 2, **OURS)
    again = make().search(QUERIES, wanted, K, 300, 1, **OURS)
    for a, b, c in zip(one, two, again, strict=True):
        assert np.array_equal(a, b) and np.array_equal(a, c)


def test_save_load_round_trip(index, tmp_path):
    path = tmp_path / "caps.bin"
    index.save(str(path))
    loaded = _core.CapsIndex.load(str(path))
    assert loaded.params == index.params
    wanted = np.tile(np.array([1, -1], dtype=np.int64), (len(QUERIES), 1))
    for a, b in zip(
        index.search(QUERIES, wanted, K, 300, 1, **OURS),
        loaded.search(QUERIES, wanted, K, 300, 1, **OURS),
        strict=True,
    ):
        assert np.array_equal(a, b)
    data = path.read_bytes()
    (tmp_path / "short.bin").write_bytes(data[: len(data) // 3])
    with pytest.raises(RuntimeError, match="corrupt"):
        _core.CapsIndex.load(str(tmp_path / "short.bin"))


def test_bad_input_names_the_argument():
    index = _core.CapsIndex(DIM, "l2", clusters=CLUSTERS, tree_levels=20)
    with pytest.raises(ValueError, match="centroids must have one row per cluster"):
        index.build(VECTORS, CENTROIDS[:3], ASSIGNMENT, VALUES)
    with pytest.raises(ValueError, match="assignment must have one entry per vector"):
        index.build(VECTORS, CENTROIDS, ASSIGNMENT[:5], VALUES)
    with pytest.raises(ValueError, match=r"assignment\[0\] = 99"):
        index.build(VECTORS, CENTROIDS, np.full(N, 99, dtype=np.int64), VALUES)
    with pytest.raises(ValueError, match="values holds -5"):
        index.build(VECTORS, CENTROIDS, ASSIGNMENT, np.full((N, 2), -5, dtype=np.int64))
    with pytest.raises(ValueError, match="clusters must be >= 1"):
        _core.CapsIndex(DIM, "l2", clusters=0, tree_levels=20)
    index.build(VECTORS, CENTROIDS, ASSIGNMENT, VALUES)
    with pytest.raises(ValueError, match="query_values must have shape"):
        index.search(QUERIES, np.zeros((len(QUERIES), 3), dtype=np.int64), K, 100, 1, **OURS)
    with pytest.raises(ValueError, match="max_distances must be >= 1"):
        index.search(QUERIES, np.zeros((len(QUERIES), 2), dtype=np.int64), K, 0, 1, **OURS)


def test_authors_top_k_keeps_farther_items_the_exact_heap_drops(index):
    """With a budget that scans every match, our heap is exact; the authors' compares each
    candidate with a stale maximum and so keeps a farther item for some query."""
    wanted = np.tile(np.array([0, -1], dtype=np.int64), (len(QUERIES), 1))
    truth = exact(wanted)
    authors = dict(exact_top_k=False, fix_open_attributes=True)
    stale, distances, _ = index.search(QUERIES, wanted, K, N, 1, **authors)
    exact_ids = index.search(QUERIES, wanted, K, N, 1, **OURS)[0]
    assert recall(exact_ids, truth) == 1.0
    assert recall(stale, truth) < 1.0
    assert (VALUES[stale[stale >= 0], 0] == 0).all()  # still matches, only not the k closest
    assert np.all(np.diff(distances, axis=1) >= 0)


def test_authors_open_attributes_skip_the_remainder_buckets():
    """Every attribute open: the authors' program scans the tree buckets only (not the
    remainder), ours every bucket; an unlimited budget shows the difference in the count."""
    index = make(tree_levels=2)
    remainder = int(index.bucket_sizes().reshape(CLUSTERS, 3)[:, 2].sum())
    assert remainder > 0
    wanted = np.full((len(QUERIES), 2), -1, dtype=np.int64)
    authors = dict(exact_top_k=True, fix_open_attributes=False)
    assert (index.search(QUERIES, wanted, K, N, 1, **OURS)[2] == N).all()
    assert (index.search(QUERIES, wanted, K, N, 1, **authors)[2] == N - remainder).all()


def test_one_attribute_scan_visits_partitions_closest_first_until_the_budget():
    """One attribute, 64 partitions, 8 tree levels (rare values live in the remainder): every
    query's distance count and results are those of the published scan, modelled here
    directly: partitions by (centroid distance, id), each partition's matches in id order
    (its level bucket or its remainder run), until the budget is spent. Budgets that end in
    the first, second and later chunks of the lazily ranked partitions."""
    clusters = 64
    km = faiss.Kmeans(DIM, clusters, niter=10, seed=3)
    km.train(VECTORS)
    centroids = np.ascontiguousarray(km.centroids)
    assignment = km.index.search(VECTORS, 1)[1][:, 0].astype(np.int64)
    values = np.ascontiguousarray(SKEWED[:, None], dtype=np.int64)
    index = _core.CapsIndex(DIM, "l2", clusters=clusters, tree_levels=8)
    index.build(VECTORS, centroids, assignment, values)
    for value in (0, 4, 25):  # a level in most partitions, in some, in the remainder mostly
        wanted = np.full((len(QUERIES), 1), value, dtype=np.int64)
        matches = [np.flatnonzero((assignment == c) & (SKEWED == value)) for c in range(clusters)]
        for budget in (5, 60, 250, N):
            ids, _, counts = index.search(QUERIES, wanted, K, budget, 1, **OURS)
            for q, query in enumerate(QUERIES):
                ranked = np.lexsort((np.arange(clusters), ((centroids - query) ** 2).sum(1)))
                scanned = np.concatenate([matches[c] for c in ranked])[:budget]
                assert counts[q] == len(scanned)
                closest = scanned[np.argsort(((VECTORS[scanned] - query) ** 2).sum(1), kind="stable")[:K]]
                assert set(ids[q][ids[q] >= 0].tolist()) == set(closest.tolist())
