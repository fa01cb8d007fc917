"""The compiled iRangeGraph index (`_core.IRangeGraphIndex`) on small data (2k x 32)."""

from __future__ import annotations

import numpy as np
import pytest

from fanns_bench import _core
from tests.core.range_graph_checks import DIM, ORDER, VECTORS, K, N, exact_top_k
from tests.core.range_graph_checks import ORDER_QUERIES as QUERIES
from tests.core.range_graph_checks import id_recall as recall
from tests.core.range_graph_checks import order_ranges as ranges

PARAMS = dict(M=12, ef_construction=60, seed=0, storage="float32")


def make(metric: str = "ip", threads: int = 2, **extra) -> _core.IRangeGraphIndex:
    index = _core.IRangeGraphIndex(DIM, metric, **{**PARAMS, **extra})
    index.build(VECTORS, ORDER, threads)
    return index


@pytest.fixture(scope="module")
def index() -> _core.IRangeGraphIndex:
    return make()


@pytest.mark.parametrize("metric", ["ip", "l2"])
def test_full_range_with_exhaustive_ef_is_exact(metric):
    index = make(metric)
    starts, stops = np.zeros(len(QUERIES), np.int64), np.full(len(QUERIES), N, np.int64)
    ids, distances, counts = index.search(QUERIES, K, N, 1, starts, stops)
    expected = np.stack([exact_top_k(0, N, q, metric) for q in QUERIES])
    np.testing.assert_array_equal(ids, expected)
    assert (np.diff(distances, axis=1) >= 0).all()
    assert (counts > 0).all()


@pytest.mark.parametrize("selectivity", [0.01, 0.1, 0.5])
def test_results_lie_in_the_range_and_recall_is_high(index, selectivity):
    starts, stops = ranges(selectivity, seed=int(selectivity * 100))
    ids, _, _ = index.search(QUERIES, K, 64, 2, starts, stops)
    position = np.empty(N, np.int64)
    position[ORDER] = np.arange(N)
    for row, a, b in zip(ids, starts, stops, strict=True):
        found = row[row >= 0]
        assert ((position[found] >= a) & (position[found] < b)).all()
        assert len(np.unique(found)) == len(found) == min(K, b - a)
    assert recall(ids, starts, stops) >= 0.95


def test_larger_ef_does_not_lower_recall(index):
    starts, stops = ranges(0.1, seed=11)
    low = recall(index.search(QUERIES, K, 10, 1, starts, stops)[0], starts, stops)
    high = recall(index.search(QUERIES, K, 200, 1, starts, stops)[0], starts, stops)
    assert high >= low and high >= 0.98


def test_the_beam_holds_every_entry_point_as_the_authors_search_does(index):
    # the full range is one tree node: one entry point, so ef_search=1 finds one id
    full = index.search(
        QUERIES, K, 1, 1, np.zeros(len(QUERIES), np.int64), np.full(len(QUERIES), N, np.int64)
    )
    assert ((full[0] >= 0).sum(axis=1) == 1).all()
    # [1, 1999) splits into many nodes, each giving an entry point that stays in the beam
    split = index.search(
        QUERIES, K, 1, 1, np.ones(len(QUERIES), np.int64), np.full(len(QUERIES), N - 1, np.int64)
    )
    assert ((split[0] >= 0).sum(axis=1) == K).all()


def test_items_left_out_of_the_order_are_not_indexed():
    kept = ORDER[ORDER % 4 != 0]  # e.g. items without a value
    index = _core.IRangeGraphIndex(DIM, "ip", **PARAMS)
    index.build(VECTORS, kept, 1)
    assert index.size == len(kept)
    n = len(kept)
    ids, _, _ = index.search(
        QUERIES, K, n, 1, np.zeros(len(QUERIES), np.int64), np.full(len(QUERIES), n, np.int64)
    )
    scores = -(VECTORS[kept] @ QUERIES.T).T
    np.testing.assert_array_equal(ids, kept[np.argsort(scores, axis=1, kind="stable")[:, :K]])


def test_empty_range_gives_no_ids(index):
    starts = np.array([5, 0], np.int64)
    ids, distances, counts = index.search(QUERIES[:2], K, 16, 1, starts, starts)
    assert (ids == -1).all() and np.isinf(distances).all() and (counts == 0).all()


def test_the_build_does_not_depend_on_the_thread_count(index):
    other = make(threads=1)
    for position in range(0, N, 97):
        for layer in range(index.layers):
            np.testing.assert_array_equal(index.links(position, layer), other.links(position, layer))


def test_the_seed_picks_the_insertion_entry_points():
    # a narrow beam makes the graph depend on where each insertion starts
    a, b, c = make(ef_construction=2), make(ef_construction=2), make(ef_construction=2, seed=5)
    same = all(np.array_equal(a.links(p, 0), b.links(p, 0)) for p in range(0, N, 7))
    differs = any(not np.array_equal(a.links(p, 0), c.links(p, 0)) for p in range(0, N, 7))
    assert same and differs


def test_results_do_not_depend_on_the_thread_count(index):
    starts, stops = ranges(0.1, seed=4)
    one = index.search(QUERIES, K, 24, 1, starts, stops)
    two = index.search(QUERIES, K, 24, 2, starts, stops)
    for a, b in zip(one, two, strict=True):
        np.testing.assert_array_equal(a, b)


def test_links_stay_inside_their_tree_node_and_below_M(index):
    assert index.layers == 12  # ceil(log2(2000)) + 1
    for position in range(0, N, 31):
        top = index.links(position, 0)
        assert len(top) <= PARAMS["M"] and len(np.unique(top)) == len(top)
        assert position not in top
        # layer 1 splits [0, 2000) at 1000: the lists stay in the node's half
        below = index.links(position, 1)
        assert ((below < 1000) == (position < 1000)).all()


def test_save_and_load_give_identical_results(index, tmp_path):
    path = tmp_path / "index.irg"
    index.save(str(path))
    loaded = _core.IRangeGraphIndex.load(str(path))
    assert loaded.params == index.params and loaded.memory_bytes() == index.memory_bytes()
    starts, stops = ranges(0.1, seed=8)
    for a, b in zip(
        index.search(QUERIES, K, 24, 1, starts, stops),
        loaded.search(QUERIES, K, 24, 1, starts, stops),
        strict=True,
    ):
        np.testing.assert_array_equal(a, b)


def test_a_corrupt_file_is_refused(index, tmp_path):
    path = tmp_path / "index.irg"
    index.save(str(path))
    data = path.read_bytes()
    (tmp_path / "short.irg").write_bytes(data[: len(data) // 2])
    with pytest.raises(RuntimeError, match="corrupt"):
        _core.IRangeGraphIndex.load(str(tmp_path / "short.irg"))
    (tmp_path / "magic.irg").write_bytes(b"X" + data[1:])
    with pytest.raises(RuntimeError, match="magic"):
        _core.IRangeGraphIndex.load(str(tmp_path / "magic.irg"))


def test_bad_input_names_the_argument(index):
    fresh = _core.IRangeGraphIndex(DIM, "ip", **PARAMS)
    with pytest.raises(ValueError, match="order"):
        fresh.build(VECTORS, np.zeros(N, np.int64), 1)
    with pytest.raises(ValueError, match="order"):
        fresh.build(VECTORS, np.array([0, N], np.int64), 1)
    with pytest.raises(ValueError, match="vectors"):
        fresh.build(VECTORS.astype(np.float64), ORDER, 1)
    starts, stops = ranges(0.1, seed=1)
    with pytest.raises(ValueError, match="starts"):
        index.search(QUERIES, K, 10, 1, starts.astype(np.int32), stops)
    with pytest.raises(ValueError, match="range"):
        index.search(QUERIES, K, 10, 1, starts, stops + N)
    with pytest.raises(ValueError, match="ef_search"):
        index.search(QUERIES, K, 0, 1, starts, stops)
    with pytest.raises(ValueError, match="M"):
        _core.IRangeGraphIndex(DIM, "ip", **{**PARAMS, "M": 0})
    with pytest.raises(ValueError, match="queries"):
        index.search(QUERIES[:, :5], K, 10, 1, starts, stops)
