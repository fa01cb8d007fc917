"""The compiled SeRF index (`_core.SerfIndex`) on small clustered data (2k x 32)."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from fanns_bench import _core
from tests.core import range_graph_checks as checks

PARAMS = dict(index_k=16, ef_construction=64, ef_max=200)


def make(seed: int = 100, metric: str = "l2", **params) -> _core.SerfIndex:
    index = _core.SerfIndex(checks.DIM, metric, **{**PARAMS, **params}, seed=seed)
    index.build(checks.VECTORS)
    return index


@functools.cache
def built() -> object:
    """One index with the default parameters, shared by the tests that only search it."""
    return make()


@pytest.mark.parametrize(
    ("selectivity", "ef", "minimum"), [(0.05, 64, 0.85), (0.2, 64, 0.95), (1.0, 64, 0.95)]
)
def test_recall_and_every_result_inside_its_range(selectivity, ef, minimum):
    checks.check_recall_and_exact_ranges(built, selectivity, ef, minimum)


def test_ranges_smaller_than_k_return_all_their_items_then_minus_one():
    checks.check_small_ranges_are_padded(built, complete=False)


def test_authors_search_never_returns_its_seeds_nor_more_than_ef_search_ids():
    checks.check_authors_seeds_and_beam(built)


def test_builds_are_deterministic_and_searches_thread_independent():
    checks.check_deterministic_and_thread_independent(make)


def test_save_and_load_round_trip_and_corrupt_files_are_refused(tmp_path):
    checks.check_save_load(built, _core.SerfIndex.load, tmp_path)


def test_bad_input_is_refused_naming_the_argument():
    checks.check_bad_input(built)
    with pytest.raises(ValueError, match="index_k must be >= 2"):
        _core.SerfIndex(checks.DIM, "l2", index_k=1, ef_construction=10, ef_max=10, seed=0)
    with pytest.raises(ValueError, match="metric"):
        _core.SerfIndex(checks.DIM, "cosine", index_k=8, ef_construction=10, ef_max=10, seed=0)
    index = _core.SerfIndex(checks.DIM, "l2", index_k=8, ef_construction=10, ef_max=10, seed=0)
    with pytest.raises(ValueError, match="vectors have dimension"):
        index.build(checks.VECTORS[:, :4].copy())
    with pytest.raises(RuntimeError, match="not built"):
        index.search(
            checks.QUERIES, np.zeros(60, np.int64), np.ones(60, np.int64), 10, 10, 0, 1, **checks.OURS
        )


def test_segments_cover_every_left_bound_and_inner_product_works():
    index = make()
    stats = index.graph_stats()
    assert stats["segments"] >= checks.N - 1  # every item but the first has at least one segment
    assert (
        stats["forward_edges"] == stats["reverse_edges"] or stats["reverse_edges"] <= stats["forward_edges"]
    )
    ip = make(metric="ip")
    starts, stops = checks.random_ranges(0.3, seed=2)
    ids = ip.search(checks.QUERIES, starts, stops, checks.K, 64, 0, 1, **checks.OURS)[0]
    assert checks.recall(ids, checks.exact(starts, stops, "ip")) >= 0.9
