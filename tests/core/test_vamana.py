"""The compiled FilteredVamana / StitchedVamana indexes (`_core.FilteredVamanaIndex`,
`_core.StitchedVamanaIndex`) on small data (2k x 32)."""

from __future__ import annotations

import numpy as np
import pytest

from fanns_bench import _core

N, DIM, K = 2000, 32, 10
# Label l has about N * 0.5**(l+1) items: selectivities from 50 % down to ~0.4 %.
LABEL_PROBABILITIES = 0.5 ** np.arange(1, 9)
FILTERED = dict(R=24, L=60, alpha=1.2, unfiltered_pass=True, max_candidates=750, paper_prune=False, seed=0)
STITCHED = dict(
    R_small=16,
    L_small=40,
    alpha=1.1,
    R_stitched=24,
    alpha_stitched=1.2,
    max_candidates=750,
    paper_prune=False,
    seed=0,
)
CORE = {"filtered": (_core.FilteredVamanaIndex, FILTERED), "stitched": (_core.StitchedVamanaIndex, STITCHED)}


def core_index(variant: str, **extra):
    """The variant's core class with every parameter given (the binding has no defaults)."""
    cls, fixed = CORE[variant]
    return cls(DIM, "ip", **{**fixed, **extra})


def clustered(n: int, seed: int) -> np.ndarray:
    """Unit vectors from a 20-cluster mixture in 8 latent dims mapped to 32 (like embeddings)."""
    latent = np.random.default_rng(0)
    centres, mapping = latent.standard_normal((20, 8)), latent.standard_normal((8, DIM))
    rng = np.random.default_rng(seed)
    points = (centres[rng.integers(0, 20, n)] + 0.5 * rng.standard_normal((n, 8))) @ mapping
    points += 0.05 * rng.standard_normal((n, DIM))
    return np.ascontiguousarray(points / np.linalg.norm(points, axis=1, keepdims=True), dtype=np.float32)


VECTORS = clustered(N, 0)
QUERIES = clustered(60, 1)
SINGLE = np.random.default_rng(2).choice(8, size=N, p=LABEL_PROBABILITIES / LABEL_PROBABILITIES.sum())


def single_labels() -> tuple[np.ndarray, np.ndarray]:
    """EM: one label per item."""
    return np.arange(N + 1, dtype=np.int64), SINGLE.astype(np.int64)


def multi_labels() -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """EMIS: each item carries each of 6 labels with probability 0.6, 0.3, ..., (sorted, unique)."""
    rng = np.random.default_rng(3)
    has = rng.random((N, 6)) < np.array([0.6, 0.3, 0.15, 0.08, 0.04, 0.02])
    offsets = np.concatenate([[0], np.cumsum(has.sum(1))]).astype(np.int64)
    labels = np.nonzero(has)[1].astype(np.int64)
    return offsets, labels, [np.flatnonzero(has[:, t]) for t in range(6)]


def make(variant: str, offsets, labels, count, threads=1, **extra):
    index = core_index(variant, **extra)
    index.build(VECTORS, offsets, labels, count, threads)
    return index


def exact(query_labels: np.ndarray, members: list[np.ndarray], rows=None) -> list[np.ndarray]:
    out = []
    for q, label in zip(range(len(query_labels)) if rows is None else rows, query_labels, strict=True):
        ids = members[label] if label >= 0 else np.arange(N)
        scores = -(VECTORS[ids] @ QUERIES[q])
        out.append(ids[np.argsort(scores, kind="stable")[:K]])
    return out


def recall(found: np.ndarray, truth: list[np.ndarray]) -> float:
    hits = sum(
        len(set(row[row >= 0].tolist()) & set(t.tolist())) for row, t in zip(found, truth, strict=True)
    )
    return hits / sum(min(K, len(t)) for t in truth)


@pytest.fixture(scope="module", params=["filtered", "stitched"])
def em_index(request):
    # The paper's prune rule: with the code's rule, labels drawn independently of the vectors
    # lose their same-label edges at small R (test_paper_prune_keeps_rare_labels_reachable).
    return request.param, make(request.param, *single_labels(), 8, paper_prune=True)


@pytest.mark.parametrize("label", [0, 2, 4, 7])
def test_em_recall_and_filter(em_index, label):
    variant, index = em_index
    members = [np.flatnonzero(SINGLE == t) for t in range(8)]
    query_labels = np.full(len(QUERIES), label, dtype=np.int64)
    ids, distances, counts = index.search(QUERIES, query_labels, K, 100, 1)
    for row in ids:
        returned = row[row >= 0]
        assert np.isin(returned, members[label]).all()
        assert len(set(returned.tolist())) == len(returned)
    assert recall(ids, exact(query_labels, members)) >= 0.9, (variant, label)
    assert (counts > 0).all()
    assert np.all(np.diff(distances, axis=1)[ids[:, 1:] >= 0] >= 0)


@pytest.mark.parametrize("variant", ["filtered", "stitched"])
def test_emis_recall(variant):
    offsets, labels, members = multi_labels()
    index = make(variant, offsets, labels, 6, paper_prune=True)
    query_labels = np.arange(len(QUERIES), dtype=np.int64) % 6
    ids, _, _ = index.search(QUERIES, query_labels, K, 200, 1)
    for row, label in zip(ids, query_labels, strict=True):
        assert np.isin(row[row >= 0], members[label]).all()
    assert recall(ids, exact(query_labels, members)) >= 0.9


def test_paper_prune_keeps_rare_labels_reachable():
    """The paper's FilteredRobustPrune keeps same-label edges of rare labels that the code's rule loses."""
    offsets, labels, members = multi_labels()
    query_labels = np.full(len(QUERIES), 5, dtype=np.int64)  # ~2 % of the items
    truth = exact(query_labels, members)
    found = {}
    for paper in (False, True):
        index = make("filtered", offsets, labels, 6, R=16, paper_prune=paper)
        found[paper] = recall(index.search(QUERIES, query_labels, K, 100, 1)[0], truth)
    assert found[True] >= found[False]
    assert found[True] >= 0.9


def test_unfiltered_and_no_match_queries():
    index = make("filtered", *single_labels(), 9)  # label 8 is carried by no item
    query_labels = np.array([-2, -1, 8] * 4, dtype=np.int64)
    ids, _, counts = index.search(QUERIES[:12], query_labels, K, 100, 1)
    unfiltered = ids[query_labels == -2]
    assert (unfiltered >= 0).all()
    assert recall(unfiltered, exact(np.full(4, -1), [], rows=np.flatnonzero(query_labels == -2))) >= 0.9
    assert (ids[query_labels != -2] == -1).all()
    assert (counts[query_labels != -2] == 0).all()


def test_fewer_matches_than_k_are_padded():
    offsets, labels = single_labels()
    labels = labels.copy()
    labels[:] = 0
    labels[[5, 17, 300]] = 1
    index = make("filtered", offsets, labels, 2)
    ids, _, _ = index.search(QUERIES[:5], np.ones(5, dtype=np.int64), K, 50, 1)
    assert (np.sort(ids[:, :3], axis=1) == [5, 17, 300]).all()
    assert (ids[:, 3:] == -1).all()


@pytest.mark.parametrize("variant", ["filtered", "stitched"])
def test_single_thread_builds_are_deterministic(variant):
    a = make(variant, *single_labels(), 8, seed=5)
    b = make(variant, *single_labels(), 8, seed=5)
    for node in range(0, N, 97):
        assert np.array_equal(a.neighbors(node), b.neighbors(node))
    assert np.array_equal(a.label_starts(), b.label_starts())


def test_parallel_build_is_usable():
    index = make("filtered", *single_labels(), 8, threads=2)
    members = [np.flatnonzero(SINGLE == t) for t in range(8)]
    query_labels = np.zeros(len(QUERIES), dtype=np.int64)
    assert recall(index.search(QUERIES, query_labels, K, 100, 2)[0], exact(query_labels, members)) >= 0.9


def test_one_and_two_query_threads_agree(em_index):
    _, index = em_index
    query_labels = np.arange(len(QUERIES), dtype=np.int64) % 8
    one = index.search(QUERIES, query_labels, K, 50, 1)
    two = index.search(QUERIES, query_labels, K, 50, 2)
    for a, b in zip(one, two, strict=True):
        assert np.array_equal(a, b)


def test_degrees_are_bounded(em_index):
    variant, index = em_index
    stats = index.graph_stats()
    assert stats["max_degree"] <= 24
    assert stats["mean_degree"] > 4
    assert list(index.params) == ["metric", *CORE[variant][1]]


def test_save_load_round_trip(em_index, tmp_path):
    variant, index = em_index
    path = tmp_path / "vamana.bin"
    index.save(str(path))
    loaded = CORE[variant][0].load(str(path))
    assert loaded.params == index.params
    query_labels = np.arange(len(QUERIES), dtype=np.int64) % 8
    for a, b in zip(
        index.search(QUERIES, query_labels, K, 50, 1),
        loaded.search(QUERIES, query_labels, K, 50, 1),
        strict=True,
    ):
        assert np.array_equal(a, b)


def test_corrupt_file_is_an_error(em_index, tmp_path):
    variant, index = em_index
    load = CORE[variant][0].load
    path = tmp_path / "vamana.bin"
    index.save(str(path))
    data = path.read_bytes()
    (tmp_path / "short.bin").write_bytes(data[: len(data) // 2])
    with pytest.raises(RuntimeError, match="corrupt"):
        load(str(tmp_path / "short.bin"))
    (tmp_path / "magic.bin").write_bytes(b"XXXXXXXX" + data[8:])
    with pytest.raises(RuntimeError, match="wrong magic bytes, expected 'FANNSVMN'"):
        load(str(tmp_path / "magic.bin"))
    (tmp_path / "metric.bin").write_bytes(data[:13] + bytes([7]) + data[14:])  # magic, version, variant
    with pytest.raises(RuntimeError, match="unknown metric code 7"):
        load(str(tmp_path / "metric.bin"))


def test_a_file_of_the_other_variant_is_refused(em_index, tmp_path):
    variant, index = em_index
    other = "stitched" if variant == "filtered" else "filtered"
    index.save(str(tmp_path / "vamana.bin"))
    with pytest.raises(RuntimeError, match=f"holds an index of {variant}_vamana, expected {other}_vamana"):
        CORE[other][0].load(str(tmp_path / "vamana.bin"))


def test_bad_input_names_the_argument():
    offsets, labels = single_labels()
    index = core_index("filtered")
    with pytest.raises(ValueError, match="label_offsets"):
        index.build(VECTORS, offsets[:-1], labels, 8, 1)
    with pytest.raises(ValueError, match="label 8 of item"):
        index.build(VECTORS, offsets, np.full(N, 8, dtype=np.int64), 8, 1)
    with pytest.raises(ValueError, match="vectors must have dtype float32"):
        index.build(VECTORS.astype(np.float64), offsets, labels, 8, 1)
    with pytest.raises(ValueError, match=r"^R must be >= 1, got 0$"):
        core_index("filtered", R=0)
    with pytest.raises(ValueError, match=r"^alpha_stitched must be a finite number >= 1, got 0\.5"):
        core_index("stitched", alpha_stitched=0.5)
    with pytest.raises(TypeError, match="unexpected keyword argument.*'R_small'"):
        core_index("filtered", R_small=16)
    with pytest.raises(RuntimeError, match="not built"):
        index.search(QUERIES, np.zeros(len(QUERIES), dtype=np.int64), K, 50, 1)
    index.build(VECTORS, offsets, labels, 8, 1)
    with pytest.raises(ValueError, match="query_labels"):
        index.search(QUERIES, np.zeros(3, dtype=np.int64), K, 50, 1)
    with pytest.raises(ValueError, match=r"query_labels\[0\] = 9"):
        index.search(QUERIES, np.full(len(QUERIES), 9, dtype=np.int64), K, 50, 1)
