"""Shared checks of the compiled range-filter graphs that index items in attribute order
(`_core.SerfIndex`, `_core.DsgIndex`), on small clustered data (2k x 32), and the data of the
ones that take the item order and return item ids (`_core.IRangeGraphIndex`, `_core.DigraIndex`).

Both take vectors in attribute order (row i = position i) and per-query half-open position
ranges, and return positions. Each test module passes a factory `make(seed=..., metric=...)`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

N, DIM, K = 2000, 32, 10
# Our search (seeds may be results, beam raised to k); the authors' is tested on its own.
OURS = {"return_seeds": True, "raise_ef_to_k": True}


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


def random_ranges(
    selectivity: float, seed: int = 0, n: int = N, queries: int = len(QUERIES)
) -> tuple[np.ndarray, np.ndarray]:
    """One window of `selectivity * n` positions per query, at random offsets."""
    width = max(1, int(round(selectivity * n)))
    starts = np.random.default_rng(seed).integers(0, n - width + 1, queries).astype(np.int64)
    return starts, starts + width


def exact(starts: np.ndarray, stops: np.ndarray, metric: str = "l2") -> list[np.ndarray]:
    """The true k nearest positions of each query inside its range."""
    out = []
    for q, (a, b) in enumerate(zip(starts, stops, strict=True)):
        block = VECTORS[a:b]
        if metric == "ip":
            scores = -(block @ QUERIES[q])
        else:
            scores = ((block - QUERIES[q]) ** 2).sum(1)
        out.append(a + np.argsort(scores, kind="stable")[:K])
    return out


def recall(found: np.ndarray, truth: list[np.ndarray]) -> float:
    hits = sum(len(np.intersect1d(row[row >= 0], t)) for row, t in zip(found, truth, strict=True))
    return hits / sum(len(t) for t in truth)


Factory = Callable[..., Any]

# The indexes given an item order (row ids in attribute order) and returning item ids.
ORDER_QUERIES = clustered(40, 1)
ORDER = np.random.default_rng(7).permutation(N).astype(np.int64)  # item ids in attribute order


def exact_top_k(start: int, stop: int, query: np.ndarray, metric: str = "ip") -> np.ndarray:
    """The true k nearest item ids among positions [start, stop) of `ORDER`."""
    ids = ORDER[start:stop]
    if metric == "ip":
        scores = -(VECTORS[ids] @ query)
    else:
        scores = ((VECTORS[ids] - query) ** 2).sum(1)
    return ids[np.argsort(scores, kind="stable")[:K]]


def order_ranges(selectivity: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """`random_ranges` for the `ORDER_QUERIES`."""
    return random_ranges(selectivity, seed, queries=len(ORDER_QUERIES))


def id_recall(ids: np.ndarray, starts: np.ndarray, stops: np.ndarray) -> float:
    """Recall@K of item ids against `exact_top_k` of each query's range."""
    hits = sum(
        len(np.intersect1d(row[row >= 0], exact_top_k(a, b, q)))
        for row, a, b, q in zip(ids, starts, stops, ORDER_QUERIES, strict=True)
    )
    return hits / sum(min(K, b - a) for a, b in zip(starts, stops, strict=True))


def check_recall_and_exact_ranges(make: Factory, selectivity: float, ef: int, minimum: float) -> None:
    index = make()
    starts, stops = random_ranges(selectivity)
    ids, distances, counts = index.search(QUERIES, starts, stops, K, ef, 0, 1, **OURS)
    assert ids.shape == (len(QUERIES), K) and ids.dtype == np.int64
    for row, a, b in zip(ids, starts, stops, strict=True):
        found = row[row >= 0]
        assert ((found >= a) & (found < b)).all(), "a result lies outside its range"
        assert len(set(found.tolist())) == len(found)
    assert (counts > 0).all()
    assert recall(ids, exact(starts, stops)) >= minimum
    assert np.all(np.diff(distances, axis=1)[ids[:, 1:] >= 0] >= 0), "distances are not sorted"


def check_small_ranges_are_padded(make: Factory, complete: bool) -> None:
    """Ranges of 0 to 3 items: results inside the range, -1 after them; with `complete`, all
    of the range's items are found (SeRF's three seeds coincide on ranges under 4 items, so
    it may miss some there: the graph has no edge between them)."""
    index = make()
    starts = np.arange(len(QUERIES), dtype=np.int64) * 7
    stops = starts + np.arange(len(QUERIES)) % 4  # 0 to 3 items; 0 = empty
    ids, distances, counts = index.search(QUERIES, starts, stops, K, 32, 0, 1, **OURS)
    for row, a, b in zip(ids, starts, stops, strict=True):
        found = sorted(row[row >= 0].tolist())
        assert set(found) <= set(range(a, b)) and (len(found) > 0) == (b > a)
        assert (row[len(found) :] == -1).all()
        if complete:
            assert found == list(range(a, b))
    # With scan_below, ranges that small are scored exhaustively: every item, in distance order.
    ids, distances, counts = index.search(QUERIES, starts, stops, K, 32, 4, 1, **OURS)
    for row, a, b, count in zip(ids, starts, stops, counts, strict=True):
        assert sorted(row[row >= 0].tolist()) == list(range(a, b)) and count == b - a
    wider = random_ranges(0.01, seed=9)  # 20 items, < scan_below = 32: exact
    ids = index.search(QUERIES, *wider, K, 16, 32, 1, **OURS)[0]
    assert recall(ids, exact(*wider)) == 1.0
    assert np.isinf(distances[stops == starts]).all() and (counts[stops == starts] == 0).all()


def check_authors_seeds_and_beam(make: Factory) -> None:
    """The authors' search (both flags false) never returns its seeds and returns at most
    ef_search ids; ours (`OURS`) does both. The range's first position is a seed of SeRF and
    DSG alike: queried with its own vector, it is the true nearest item."""
    index = make()
    starts = np.arange(len(QUERIES), dtype=np.int64) * 30
    queries = np.ascontiguousarray(VECTORS[starts])
    wide = dict(starts=starts, stops=starts + 200, k=K, ef_search=64, scan_below=0, threads=1)
    authors = index.search(queries, **wide, return_seeds=False, raise_ef_to_k=True)[0]
    ours = index.search(queries, **wide, return_seeds=True, raise_ef_to_k=True)[0]
    assert (ours[:, 0] == starts).all(), "our search returns the seed that is the true nearest"
    assert not (authors == starts[:, None]).any(), "the authors' search never returns a seed"
    # A one-item range holds only its seed: nothing for the authors' search, the item for ours.
    one = dict(starts=starts, stops=starts + 1, k=K, ef_search=64, scan_below=0, threads=1)
    assert (index.search(queries, **one, return_seeds=False, raise_ef_to_k=True)[0] == -1).all()
    assert (index.search(queries, **one, return_seeds=True, raise_ef_to_k=True)[0][:, 0] == starts).all()
    # ef_search < k: the authors' search returns ef_search ids, ours k.
    narrow = dict(starts=starts, stops=starts + 200, k=K, ef_search=4, scan_below=0, threads=1)
    short = index.search(queries, **narrow, return_seeds=True, raise_ef_to_k=False)[0]
    full = index.search(queries, **narrow, return_seeds=True, raise_ef_to_k=True)[0]
    assert (short[:, 4:] == -1).all() and (short[:, :4] >= 0).all()
    assert (full >= 0).all()


def check_deterministic_and_thread_independent(make: Factory) -> None:
    first, second = make(), make()
    starts, stops = random_ranges(0.2, seed=3)
    one = first.search(QUERIES, starts, stops, K, 48, 0, 1, **OURS)
    again = second.search(QUERIES, starts, stops, K, 48, 0, 1, **OURS)
    two = first.search(QUERIES, starts, stops, K, 48, 0, 2, **OURS)
    for a, b, c in zip(one, again, two, strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)
    other_seed = make(seed=7).search(QUERIES, starts, stops, K, 48, 0, 1, **OURS)[0]
    assert other_seed.shape == one[0].shape


def check_save_load(make: Factory, load: Callable[[str], Any], tmp_path) -> None:
    index = make()
    path = tmp_path / "index.bin"
    index.save(str(path))
    loaded = load(str(path))
    assert loaded.size == index.size and loaded.params == index.params
    assert loaded.memory_bytes() == index.memory_bytes()
    starts, stops = random_ranges(0.1, seed=5)
    for a, b in zip(
        index.search(QUERIES, starts, stops, K, 40, 0, 1, **OURS),
        loaded.search(QUERIES, starts, stops, K, 40, 0, 1, **OURS),
        strict=True,
    ):
        np.testing.assert_array_equal(a, b)
    data = path.read_bytes()
    (tmp_path / "magic.bin").write_bytes(b"NOTANIDX" + data[8:])
    (tmp_path / "short.bin").write_bytes(data[: len(data) // 2])
    for bad in ("magic.bin", "short.bin"):
        with pytest.raises(RuntimeError, match="corrupt"):
            load(str(tmp_path / bad))
    with pytest.raises(RuntimeError, match="cannot open"):
        load(str(tmp_path / "missing.bin"))


def check_bad_input(make: Factory) -> None:
    index = make()
    starts, stops = random_ranges(0.1)
    with pytest.raises(ValueError, match="queries must have dtype float32"):
        index.search(QUERIES.astype(np.float64), starts, stops, K, 16, 0, 1, **OURS)
    with pytest.raises(ValueError, match="queries have dimension"):
        index.search(QUERIES[:, :8].copy(), starts, stops, K, 16, 0, 1, **OURS)
    with pytest.raises(ValueError, match="starts must have dtype int64"):
        index.search(QUERIES, starts.astype(np.int32), stops, K, 16, 0, 1, **OURS)
    with pytest.raises(ValueError, match="one entry per query"):
        index.search(QUERIES, starts[:5], stops[:5], K, 16, 0, 1, **OURS)
    with pytest.raises(ValueError, match="range of query 0"):
        index.search(QUERIES, stops, starts, K, 16, 0, 1, **OURS)  # every window is non-empty: start > stop
    bad = stops.copy()
    bad[3] = N + 1
    with pytest.raises(ValueError, match=r"range of query 3 .*<= 2000"):
        index.search(QUERIES, starts, bad, K, 16, 0, 1, **OURS)
    with pytest.raises(ValueError, match="k must be >= 1"):
        index.search(QUERIES, starts, stops, 0, 16, 0, 1, **OURS)
    with pytest.raises(ValueError, match="ef_search must be >= 1"):
        index.search(QUERIES, starts, stops, K, 0, 0, 1, **OURS)
    with pytest.raises(ValueError, match="scan_below must be >= 0"):
        index.search(QUERIES, starts, stops, K, 16, -1, 1, **OURS)
