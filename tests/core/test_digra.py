"""The compiled DIGRA-style index (`_core.DigraIndex`) on small data (2k x 32)."""

from __future__ import annotations

import numpy as np
import pytest

from fanns_bench import _core
from tests.core.range_graph_checks import DIM, ORDER, VECTORS, K, N, exact_top_k
from tests.core.range_graph_checks import ORDER_QUERIES as QUERIES
from tests.core.range_graph_checks import id_recall as recall
from tests.core.range_graph_checks import order_ranges as ranges

PARAMS = dict(M=12, ef_construction=60, fanout=4, leaf_size=32, seed=0, storage="float32")

POSITION = np.argsort(ORDER)


def make(metric: str = "ip", threads: int = 2, **extra) -> _core.DigraIndex:
    index = _core.DigraIndex(DIM, metric, **{**PARAMS, **extra})
    index.build(VECTORS, ORDER, threads)
    return index


@pytest.fixture(scope="module")
def index() -> _core.DigraIndex:
    return make()


def test_tree_shape(index):
    # leaves of 32 positions, fanout 4: 32 * 4^3 = 2048 >= 2000 -> three levels of graphs
    assert index.graph_levels == 3
    assert [index.node_size(level) for level in range(4)] == [2048, 512, 128, 32]
    for position in range(0, N, 37):
        for level in range(index.graph_levels):
            links = index.links(level, position)
            size = index.node_size(level)
            assert len(links) <= PARAMS["M"] and position not in links
            assert (links // size == position // size).all()  # links stay inside the node


@pytest.mark.parametrize("metric", ["ip", "l2"])
def test_full_range_with_exhaustive_ef_is_exact(metric):
    index = make(metric)
    starts, stops = np.zeros(len(QUERIES), np.int64), np.full(len(QUERIES), N, np.int64)
    ids, distances, _ = index.search(QUERIES, K, N, 1, starts, stops, True)
    expected = np.stack([exact_top_k(0, N, q, metric) for q in QUERIES])
    np.testing.assert_array_equal(ids, expected)
    assert (np.diff(distances, axis=1) >= 0).all()


def test_ranges_within_a_leaf_are_scanned_exactly(index):
    starts, stops = ranges(0.01, seed=2)  # 20 positions <= leaf_size
    ids, _, counts = index.search(QUERIES, K, 1, 1, starts, stops, True)
    expected = np.stack([exact_top_k(a, b, q) for a, b, q in zip(starts, stops, QUERIES, strict=True)])
    np.testing.assert_array_equal(ids, expected)
    assert (counts == 20).all()


@pytest.mark.parametrize("selectivity", [0.05, 0.1, 0.5])
def test_strict_results_lie_in_the_range_and_recall_is_high(index, selectivity):
    starts, stops = ranges(selectivity, seed=int(selectivity * 100))
    ids, _, _ = index.search(QUERIES, K, 64, 2, starts, stops, True)
    for row, a, b in zip(ids, starts, stops, strict=True):
        found = row[row >= 0]
        assert ((POSITION[found] >= a) & (POSITION[found] < b)).all()
        assert len(np.unique(found)) == len(found) == min(K, b - a)
    assert recall(ids, starts, stops) >= 0.95


def test_the_approximate_variant_returns_items_of_the_searched_nodes(index):
    starts, stops = ranges(0.1, seed=6)
    ids, _, _ = index.search(QUERIES, K, 64, 1, starts, stops, False)
    outside = 0
    for row, a, b in zip(ids, starts, stops, strict=True):
        positions = POSITION[row[row >= 0]]
        assert len(positions) == K
        # the range (200 positions) is answered on level-1 nodes of 512 positions
        assert ((positions >= a // 512 * 512) & (positions < ((b - 1) // 512 + 1) * 512)).all()
        outside += int(((positions < a) | (positions >= b)).sum())
    assert outside > 0


def test_results_do_not_depend_on_the_thread_count(index):
    other = make(threads=1)
    for position in range(0, N, 97):
        for level in range(index.graph_levels):
            np.testing.assert_array_equal(index.links(level, position), other.links(level, position))
    starts, stops = ranges(0.1, seed=4)
    one = index.search(QUERIES, K, 24, 1, starts, stops, True)
    two = index.search(QUERIES, K, 24, 2, starts, stops, True)
    for a, b in zip(one, two, strict=True):
        np.testing.assert_array_equal(a, b)


def test_the_seed_sets_the_insertion_order(index):
    other = make(seed=5)
    assert any(not np.array_equal(index.links(0, p), other.links(0, p)) for p in range(0, N, 7))


def test_empty_range_gives_no_ids(index):
    starts = np.array([5, 0], np.int64)
    ids, distances, counts = index.search(QUERIES[:2], K, 16, 1, starts, starts, True)
    assert (ids == -1).all() and np.isinf(distances).all() and (counts == 0).all()


def test_save_and_load_give_identical_results(index, tmp_path):
    path = tmp_path / "index.digra"
    index.save(str(path))
    loaded = _core.DigraIndex.load(str(path))
    assert loaded.params == index.params and loaded.memory_bytes() == index.memory_bytes()
    starts, stops = ranges(0.1, seed=8)
    for a, b in zip(
        index.search(QUERIES, K, 24, 1, starts, stops, True),
        loaded.search(QUERIES, K, 24, 1, starts, stops, True),
        strict=True,
    ):
        np.testing.assert_array_equal(a, b)
    data = path.read_bytes()
    (tmp_path / "short.digra").write_bytes(data[: len(data) // 2])
    with pytest.raises(RuntimeError, match="corrupt"):
        _core.DigraIndex.load(str(tmp_path / "short.digra"))


def test_bad_input_names_the_argument(index):
    fresh = _core.DigraIndex(DIM, "ip", **PARAMS)
    with pytest.raises(ValueError, match="order"):
        fresh.build(VECTORS, np.zeros(N, np.int64), 1)
    starts, stops = ranges(0.1, seed=1)
    with pytest.raises(ValueError, match="stops"):
        index.search(QUERIES, K, 10, 1, starts, stops[:3], True)
    with pytest.raises(ValueError, match="range"):
        index.search(QUERIES, K, 10, 1, stops, starts, True)
    for name, value in [("fanout", 1), ("leaf_size", 0), ("M", 1), ("ef_construction", 0)]:
        with pytest.raises(ValueError, match=name):
            _core.DigraIndex(DIM, "ip", **{**PARAMS, name: value})
