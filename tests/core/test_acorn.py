"""The compiled ACORN indexes of our build (`_core.AcornGammaIndex`, `_core.Acorn1Index`) on
small data (2k x 32)."""

from __future__ import annotations

import numpy as np
import pytest

from fanns_bench import _core
from tests.dataset_factory import reachability_dataset

N, DIM, K = 2000, 32, 10
VARIANTS = {
    "gamma": (
        _core.AcornGammaIndex,
        dict(M=8, gamma=4, M_beta=8, ef_construction=40, seed=0, diversify=True),
    ),
    "one": (_core.Acorn1Index, dict(M=8, ef_construction=40, seed=0)),
}


def core_index(variant: str, metric: str = "ip", storage: str = "float32", **params):
    """The variant's core class with every parameter given (the binding has no defaults)."""
    cls, fixed = VARIANTS[variant]
    return cls(DIM, metric, storage=storage, **{**fixed, **params})


def clustered(n: int, seed: int) -> np.ndarray:
    """Unit vectors from a 20-cluster mixture in 8 latent dims mapped to 32 (like embeddings)."""
    latent = np.random.default_rng(0)
    centres, mapping = latent.standard_normal((20, 8)), latent.standard_normal((8, DIM))
    rng = np.random.default_rng(seed)
    points = (centres[rng.integers(0, 20, n)] + 0.5 * rng.standard_normal((n, 8))) @ mapping
    points += 0.05 * rng.standard_normal((n, DIM))
    return np.ascontiguousarray(points / np.linalg.norm(points, axis=1, keepdims=True), dtype=np.float32)


VECTORS = clustered(N, 0)
QUERIES = clustered(40, 1)


def make(variant: str, metric: str = "ip", seed: int = 0, threads: int = 2, **extra):
    index = core_index(variant, metric, seed=seed, **extra)
    index.build(VECTORS, threads=threads)
    return index


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def index(request):
    return make(request.param)


@pytest.fixture(params=sorted(VARIANTS))
def variant_index(request):
    return request.param, make(request.param)


def exact_top_k(ids: np.ndarray, metric: str = "ip") -> np.ndarray:
    candidates = VECTORS[ids]
    if metric == "ip":
        scores = -(QUERIES @ candidates.T)
    else:
        scores = ((QUERIES[:, None, :] - candidates[None]) ** 2).sum(-1)
    return ids[np.argsort(scores, axis=1, kind="stable")[:, :K]]


def csr(sets: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    offsets = np.concatenate([[0], np.cumsum([len(s) for s in sets])]).astype(np.int64)
    return np.concatenate(sets).astype(np.int64), offsets


def random_filters(selectivity: float, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [np.flatnonzero(rng.random(N) < selectivity).astype(np.int64) for _ in range(len(QUERIES))]


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("metric", ["ip", "l2"])
def test_exhaustive_ef_finds_the_exact_neighbours(variant, metric):
    index = make(variant, metric)
    ids, distances, counts = index.search(QUERIES, K, ef_search=N)
    np.testing.assert_array_equal(ids, exact_top_k(np.arange(N), metric))
    assert (np.diff(distances, axis=1) >= 0).all()
    assert (counts >= N - 1).all()


@pytest.mark.parametrize("selectivity", [0.01, 0.1, 0.5])
def test_every_returned_id_satisfies_its_filter(index, selectivity):
    sets = random_filters(selectivity, seed=int(selectivity * 100))
    ids, _, _ = index.search(QUERIES, K, 32, 2, *csr(sets))
    for row, allowed in zip(ids, sets, strict=True):
        found = row[row >= 0]
        assert np.isin(found, allowed).all()
        assert len(np.unique(found)) == len(found)
        assert len(found) == min(K, len(allowed))


def test_filtered_search_with_exhaustive_ef_is_exact(index):
    sets = random_filters(0.05, seed=5)
    ids, _, _ = index.search(QUERIES, K, N, 1, *csr(sets))
    expected = np.stack([exact_top_k(s)[i] for i, s in enumerate(sets)])
    np.testing.assert_array_equal(ids, expected)


def test_results_do_not_depend_on_the_thread_count(index):
    filters = csr(random_filters(0.1, seed=3))
    one = index.search(QUERIES, K, 24, 1, *filters)
    two = index.search(QUERIES, K, 24, 2, *filters)
    for a, b in zip(one, two, strict=True):
        np.testing.assert_array_equal(a, b)


def test_save_and_load_give_identical_results(index, tmp_path):
    path = tmp_path / "index.acorn"
    index.save(str(path))
    loaded = type(index).load(str(path))
    assert loaded.params == index.params
    assert loaded.memory_bytes() == index.memory_bytes()
    filters = csr(random_filters(0.1, seed=4))
    for a, b in zip(
        index.search(QUERIES, K, 24, 2, *filters), loaded.search(QUERIES, K, 24, 2, *filters), strict=True
    ):
        np.testing.assert_array_equal(a, b)


def test_fewer_matches_than_k_are_padded_with_minus_one(index):
    few = np.array([3, 500, 1999], dtype=np.int64)
    ids, distances, _ = index.search(QUERIES[:2], K, 16, 1, *csr([few, np.empty(0, np.int64)]))
    np.testing.assert_array_equal(np.sort(ids[0, :3]), few)
    assert (ids[0, 3:] == -1).all() and np.isinf(distances[0, 3:]).all()
    assert (ids[1] == -1).all()


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_single_thread_builds_are_deterministic_for_a_seed(variant):
    first, second = make(variant, seed=7, threads=1), make(variant, seed=7, threads=1)
    other = make(variant, seed=8, threads=1)
    for node in (0, 1, 999):
        np.testing.assert_array_equal(first.level0_neighbors(node), second.level0_neighbors(node))
    assert first.graph_stats() == second.graph_stats()
    assert other.graph_stats() != first.graph_stats()
    filters = csr(random_filters(0.1, seed=1))
    np.testing.assert_array_equal(
        first.search(QUERIES, K, 16, 2, *filters)[0], second.search(QUERIES, K, 16, 2, *filters)[0]
    )


@pytest.fixture(scope="module")
def reachability_vectors(tmp_path_factory) -> np.ndarray:
    dataset = reachability_dataset(tmp_path_factory.mktemp("preempted") / "r")
    return np.ascontiguousarray(dataset.vectors, dtype=np.float32)


@pytest.mark.parametrize(
    "cls, params",
    [
        (_core.AcornGammaIndex, dict(M=32, gamma=12, M_beta=64, ef_construction=100, diversify=True)),
        (_core.Acorn1Index, dict(M=32, ef_construction=100)),
    ],
    ids=["gamma", "one"],
)
def test_a_preempted_insertion_leaves_every_item_reachable(cls, params, reachability_vectors):
    """A build thread stopped right after an insertion linked its top level, while the other
    thread inserts 50 items (a preempted thread on a loaded machine, made deterministic by the
    core's test hook): every item is still returned for its own vector. When a node could be
    reached on an upper level before its lower lists existed, the insertions descending through
    it linked only to it and to each other, and it later dropped them: an island (on the
    configured acorn_gamma, 8-9 items here)."""
    vectors = reachability_vectors
    index = cls(32, "ip", storage="float32", seed=0, **params)
    index.build(vectors, threads=1)
    levels = np.array([index.node_level(node) for node in range(len(vectors))])
    top = np.flatnonzero(levels == levels.max())
    assert len(top) >= 2, "the hazard needs a node on the top level that is not the entry point"
    paused = int(top[1])
    preempted = cls(32, "ip", storage="float32", seed=0, **params)
    _core._acorn_pause_insertion(paused, 50)
    try:
        preempted.build(vectors, threads=2)
    finally:
        _core._acorn_pause_insertion(-1, 0)
    found = preempted.search(vectors, K, 512, 2)[0]
    missing = [item for item in range(len(vectors)) if item not in found[item]]
    assert missing == []


def test_shared_sets_and_unfiltered_rows(index):
    labels = np.arange(N) % 3
    sets = [np.flatnonzero(labels == value).astype(np.int64) for value in range(3)]
    ids_csr, offsets = csr(sets)
    rows = np.arange(len(QUERIES), dtype=np.int64) % 4 - 1  # -1 = unfiltered
    ids, _, _ = index.search(QUERIES, K, 32, 2, ids_csr, offsets, rows)
    per_query = csr([sets[r] if r >= 0 else np.arange(N, dtype=np.int64) for r in rows])
    np.testing.assert_array_equal(ids, index.search(QUERIES, K, 32, 2, *per_query)[0])
    unfiltered = rows < 0
    np.testing.assert_array_equal(ids[unfiltered], index.search(QUERIES[unfiltered], K, 32, 2)[0])


def test_bitmaps_and_id_sets_give_the_same_results(index):
    sets = random_filters(0.2, seed=9)[:3]
    masks = np.zeros((3, N), dtype=bool)
    for row, s in enumerate(sets):
        masks[row, s] = True
    bitmaps = np.packbits(masks, axis=1, bitorder="little")
    rows = np.arange(len(QUERIES), dtype=np.int64) % 3
    from_bits = index.search_bitmaps(QUERIES, K, 32, 2, bitmaps, rows)[0]
    from_ids = index.search(QUERIES, K, 32, 2, *csr(sets), rows)[0]
    np.testing.assert_array_equal(from_bits, from_ids)


def recall_at_k(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(np.intersect1d(a, b)) / K for a, b in zip(found, truth, strict=True)]))


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_moderate_ef_reaches_high_recall(variant):
    found = make(variant).search(QUERIES, K, 64)[0]
    assert recall_at_k(found, exact_top_k(np.arange(N))) >= 0.95


def test_float16_storage_keeps_recall_and_halves_vector_memory():
    full, half = make("gamma"), make("gamma", storage="float16")
    truth = exact_top_k(np.arange(N))
    assert recall_at_k(half.search(QUERIES, K, 64)[0], truth) >= 0.95
    assert full.memory_bytes() - half.memory_bytes() == pytest.approx(N * DIM * 2, rel=0.02)


@pytest.mark.parametrize(
    ("queries", "message"),
    [
        (QUERIES[:, :16].copy(), "queries have dimension 16, the index expects 32"),
        (QUERIES.astype(np.float64), "queries must have dtype float32, got float64"),
        (np.asfortranarray(QUERIES), "queries must be C-contiguous"),
        (QUERIES[0], "queries must be 2-dimensional"),
    ],
)
def test_bad_queries_are_refused(index, queries, message):
    with pytest.raises(ValueError, match=message):
        index.search(queries, K, 16)


@pytest.mark.parametrize(
    ("ids", "offsets", "message"),
    [
        (np.array([5, 3], np.int64), np.array([0, 2], np.int64), "must be sorted and unique"),
        (np.array([3, 3], np.int64), np.array([0, 2], np.int64), "must be sorted and unique"),
        (np.array([-1, 2], np.int64), np.array([0, 2], np.int64), "filter id -1 of set 0 is outside"),
        # every step is positive modulo 2**64 and the last id is in range (validate_csr's fast pass
        # must not take wrapped steps for increasing ones)
        (
            np.array([1, 2**62, -(2**63), -(2**62), 2], np.int64),
            np.array([0, 5], np.int64),
            rf"filter id {2**62} of set 0 is outside",
        ),
        (np.array([5, N], np.int64), np.array([0, 2], np.int64), rf"filter id {N} of set 0 is outside"),
        (np.array([5], np.int64), np.array([0, 1, 1], np.int64), "filter_offsets must have 2 entries"),
        (np.array([5], np.int32), np.array([0, 1], np.int64), "filter_ids must have dtype int64, got int32"),
    ],
)
def test_bad_filters_are_refused(index, ids, offsets, message):
    with pytest.raises(ValueError, match=message):
        index.search(QUERIES[:1], K, 16, 1, ids, offsets)


def test_bad_rows_and_bitmaps_are_refused(index):
    ids, offsets = csr([np.arange(10, dtype=np.int64)])
    with pytest.raises(ValueError, match=r"filter_rows\[0\] = 1 is not an id set"):
        index.search(QUERIES[:1], K, 16, 1, ids, offsets, np.array([1], np.int64))
    with pytest.raises(ValueError, match="bitmaps must have ceil"):
        index.search_bitmaps(QUERIES[:1], K, 16, 1, np.zeros((1, 10), np.uint8), np.zeros(1, np.int64))
    with pytest.raises(ValueError, match="give both filter_ids and filter_offsets"):
        index.search(QUERIES[:1], K, 16, 1, ids)


def test_bad_build_input_and_parameters_are_refused():
    with pytest.raises(ValueError, match="vectors have dimension 16, the index expects 32"):
        core_index("gamma").build(VECTORS[:, :16].copy())
    with pytest.raises(ValueError, match="vectors must have dtype float32"):
        core_index("one").build(VECTORS.astype(np.float64))
    with pytest.raises(ValueError, match=r"M_beta must be in \[1, M\*gamma = 32\], got 40"):
        core_index("gamma", M_beta=40)
    with pytest.raises(ValueError, match=r"^M must be in \[2, 512\], got 600$"):
        core_index("one", M=600)
    with pytest.raises(TypeError, match="unexpected keyword argument.*'gamma'"):
        core_index("one", gamma=1)
    with pytest.raises(RuntimeError, match="not built"):
        core_index("one").search(QUERIES, K, 16)


def test_corrupt_files_are_refused(index, tmp_path):
    path = tmp_path / "index.acorn"
    index.save(str(path))
    data = path.read_bytes()
    (tmp_path / "short").write_bytes(data[: len(data) // 2])
    (tmp_path / "magic").write_bytes(b"NOTACORN" + data[8:])
    with pytest.raises(RuntimeError, match="corrupt or not an index: file ends early"):
        type(index).load(str(tmp_path / "short"))
    with pytest.raises(RuntimeError, match="wrong magic bytes"):
        type(index).load(str(tmp_path / "magic"))
    with pytest.raises(RuntimeError, match="cannot open index file"):
        type(index).load(str(tmp_path / "missing"))


def test_another_methods_file_is_refused(variant_index, tmp_path):
    variant, index = variant_index
    index.save(str(tmp_path / "index.acorn"))
    mine, other = (
        ("acorn_gamma", _core.Acorn1Index) if variant == "gamma" else ("acorn_1", _core.AcornGammaIndex)
    )
    with pytest.raises(RuntimeError, match=f"holds an index of {mine}, expected "):
        other.load(str(tmp_path / "index.acorn"))
