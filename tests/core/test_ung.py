"""The compiled UNG index (`_core.UngIndex`) on small clustered data (2k x 32)."""

from __future__ import annotations

import numpy as np
import pytest

from fanns_bench import _core

N, DIM, K = 2000, 32, 10
BUILD = dict(scenario="general", max_degree=16, L_build=60, alpha=1.2, num_cross_edges=6)


def clustered(n: int, seed: int) -> np.ndarray:
    """Unit vectors from a 20-cluster mixture in 8 latent dims mapped to 32 (like embeddings)."""
    latent = np.random.default_rng(0)
    centres, mapping = latent.standard_normal((20, 8)), latent.standard_normal((8, DIM))
    rng = np.random.default_rng(seed)
    points = (centres[rng.integers(0, 20, n)] + 0.5 * rng.standard_normal((n, 8))) @ mapping
    points += 0.05 * rng.standard_normal((n, DIM))
    return np.ascontiguousarray(points / np.linalg.norm(points, axis=1, keepdims=True), dtype=np.float32)


def label_sets(seed: int = 3) -> list[list[int]]:
    """A scalar label 0..4 (skewed) plus 0-3 set labels 5..14 per item."""
    rng = np.random.default_rng(seed)
    category = rng.choice(5, N, p=[0.5, 0.25, 0.15, 0.07, 0.03])
    tags = [sorted(set((rng.choice(10, rng.integers(0, 4), replace=False) + 5).tolist())) for _ in range(N)]
    return [[int(c), *t] for c, t in zip(category, tags, strict=True)]


def csr(sets: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    offsets = np.concatenate([[0], np.cumsum([len(s) for s in sets])]).astype(np.int64)
    return offsets, np.array([x for s in sets for x in s], dtype=np.int32)


VECTORS, QUERIES, SETS = clustered(N, 0), clustered(40, 1), label_sets()
OFFSETS, LABELS = csr(SETS)


def make(
    metric: str = "ip", threads: int = 2, labels: list[list[int]] | None = None, **params
) -> _core.UngIndex:
    index = _core.UngIndex(DIM, metric, **{**BUILD, **params})
    offsets, flat = csr(labels) if labels is not None else (OFFSETS, LABELS)
    index.build(VECTORS, offsets, flat, threads)
    return index


@pytest.fixture(scope="module")
def index() -> _core.UngIndex:
    return make()


def search(index, query_set: list[int], mode: str = "containment", threads: int = 1, L: int = 200):
    offsets, flat = csr([query_set])
    rows = np.zeros(len(QUERIES), dtype=np.int64)
    return index.search(QUERIES, K, L, 16, threads, offsets, flat, rows, mode, "drawn")


def truth(matching: np.ndarray, metric: str = "ip") -> np.ndarray:
    candidates = VECTORS[matching]
    if metric == "ip":
        scores = -(QUERIES @ candidates.T)
    else:
        scores = ((QUERIES[:, None, :] - candidates[None]) ** 2).sum(-1)
    return matching[np.argsort(scores, axis=1, kind="stable")[:, :K]]


def recall(ids: np.ndarray, expected: np.ndarray) -> float:
    hits = sum(len(set(a[a >= 0].tolist()) & set(b.tolist())) for a, b in zip(ids, expected, strict=True))
    return hits / (len(ids) * min(K, expected.shape[1]))


def matching(query_set: list[int], equality: bool = False) -> np.ndarray:
    want = set(query_set)
    return np.array(
        [i for i, s in enumerate(SETS) if (set(s) == want if equality else want <= set(s))], dtype=np.int64
    )


@pytest.mark.parametrize("query_set", [[0], [3], [7], [0, 7], [4, 9]])
@pytest.mark.parametrize("metric", ["ip", "l2"])
def test_containment_recall_and_validity(query_set, metric):
    index = make(metric) if metric == "l2" else _SHARED.setdefault("ip", make())
    ids, distances, counts = search(index, query_set)
    allowed = matching(query_set)
    for row in ids:
        assert np.isin(row[row >= 0], allowed).all()
        assert len(set(row[row >= 0].tolist())) == len(row[row >= 0])
    assert recall(ids, truth(allowed, metric)) >= 0.9
    assert (counts > 0).all()
    found = distances[:, : min(K, len(allowed))]
    assert (np.diff(found, axis=1) >= 0).all()


_SHARED: dict[str, _core.UngIndex] = {}


def test_label_nobody_has_returns_padding(index):
    ids, _, counts = search(index, [99])
    assert (ids == -1).all() and (counts == 0).all()


def test_fewer_matches_than_k_are_padded(index):
    rare = next(s for s in SETS if len(matching(s)) < K and len(s) >= 3)
    ids, _, _ = search(index, rare)
    allowed = matching(rare)
    assert (ids[:, len(allowed) :] == -1).all()
    assert all(set(row[row >= 0].tolist()) == set(allowed.tolist()) for row in ids)


def test_equality_scenario_returns_exact_label_sets():
    single = [[s[0]] for s in SETS]  # one scalar label per item: equality == containment
    index = make(labels=single, scenario="equality")
    assert index.graph_stats()["cross_edges"] == 0
    ids, _, _ = search(index, [1], mode="equality")
    allowed = np.array([i for i, s in enumerate(single) if s == [1]])
    assert all(np.isin(row[row >= 0], allowed).all() for row in ids)
    assert recall(ids, truth(allowed)) >= 0.9


def test_equality_queries_refused_on_a_general_index(index):
    with pytest.raises(ValueError, match="scenario 'equality'"):
        search(index, [0], mode="equality")


def test_search_threads_do_not_change_results(index):
    one = search(index, [0, 7], threads=1)
    two = search(index, [0, 7], threads=2)
    assert np.array_equal(one[0], two[0]) and np.array_equal(one[2], two[2])


def test_build_is_deterministic_for_any_thread_count(index):
    other = make(threads=1)
    assert index.graph_stats() == other.graph_stats()
    for item in (0, 17, 1999):
        assert index.neighbors(item) == other.neighbors(item)


def test_cross_edges_point_to_supersets(index):
    for item in range(0, N, 97):
        mine = set(SETS[item])
        for neighbor in index.neighbors(item):
            assert mine <= set(SETS[neighbor])


def test_save_load_round_trip(index, tmp_path):
    path = tmp_path / "ung.bin"
    index.save(str(path))
    loaded = _core.UngIndex.load(str(path))
    assert loaded.params == index.params and loaded.graph_stats() == index.graph_stats()
    assert np.array_equal(search(loaded, [0, 7])[0], search(index, [0, 7])[0])


def test_corrupt_files_are_refused(index, tmp_path):
    path = tmp_path / "ung.bin"
    index.save(str(path))
    data = path.read_bytes()
    (tmp_path / "short.bin").write_bytes(data[: len(data) // 2])
    (tmp_path / "magic.bin").write_bytes(b"XXXX" + data[4:])
    for name in ("short.bin", "magic.bin"):
        with pytest.raises(RuntimeError, match="corrupt"):
            _core.UngIndex.load(str(tmp_path / name))


def test_bad_arguments_name_the_argument(index):
    offsets, flat = csr([[0]])
    rows = np.zeros(len(QUERIES), dtype=np.int64)
    with pytest.raises(ValueError, match="queries"):
        index.search(QUERIES[:, :8].copy(), K, 100, 16, 1, offsets, flat, rows, "containment", "drawn")
    with pytest.raises(ValueError, match="set_rows"):
        index.search(QUERIES, K, 100, 16, 1, offsets, flat, rows + 1, "containment", "drawn")
    with pytest.raises(ValueError, match="set_labels"):
        index.search(QUERIES, K, 100, 16, 1, offsets, flat.astype(np.int64), rows, "containment", "drawn")
    with pytest.raises(ValueError, match="L_search"):
        index.search(QUERIES, K, 5, 16, 1, offsets, flat, rows, "containment", "drawn")
    with pytest.raises(ValueError, match="mode"):
        index.search(QUERIES, K, 100, 16, 1, offsets, flat, rows, "overlap", "drawn")
    fresh = _core.UngIndex(DIM, "ip", **BUILD)
    with pytest.raises(ValueError, match="label_offsets"):
        fresh.build(VECTORS, OFFSETS[:-1].copy(), LABELS[: OFFSETS[-2]].copy(), 1)
    with pytest.raises(ValueError, match="labels must be >= 0"):
        fresh.build(VECTORS, OFFSETS, -LABELS - 1, 1)
    with pytest.raises(ValueError, match="num_cross_edges"):
        _core.UngIndex(DIM, "ip", **{**BUILD, "num_cross_edges": 100})
    with pytest.raises(ValueError, match="scenario"):
        _core.UngIndex(DIM, "ip", **{**BUILD, "scenario": "overlap"})


def test_entry_points_first_and_drawn_give_different_searches(index):
    """σ = 16: the authors' entry set (the group's first items, searched from an empty visited
    set) is another set than ours (the drawn members): other results or distance counts."""
    offsets, flat = csr([[0]])
    rows = np.zeros(len(QUERIES), dtype=np.int64)

    def run(entry_points: str):
        return index.search(QUERIES, K, K, 16, 1, offsets, flat, rows, "containment", entry_points)

    first, drawn = run("first"), run("drawn")
    assert not np.array_equal(first[2], drawn[2]) or not np.array_equal(first[0], drawn[0])
    np.testing.assert_array_equal(first[0], run("first")[0])
    with pytest.raises(ValueError, match="entry_points must be 'first' or 'drawn'"):
        run("random")
