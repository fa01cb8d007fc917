"""The compiled DSG index (`_core.DsgIndex`) on small clustered data (2k x 32)."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from fanns_bench import _core
from tests.core import range_graph_checks as checks

PARAMS = dict(M=12, ef_construction=64, ef_max=100, alpha=1.0)


def make(seed: int = 2025, metric: str = "l2", threads: int = 2, **params) -> _core.DsgIndex:
    index = _core.DsgIndex(checks.DIM, metric, **{**PARAMS, **params}, seed=seed)
    index.build(checks.VECTORS, threads)
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
    checks.check_small_ranges_are_padded(built, complete=True)


def test_authors_search_never_returns_its_seeds_nor_more_than_ef_search_ids():
    checks.check_authors_seeds_and_beam(built)


def test_builds_are_deterministic_and_searches_thread_independent():
    checks.check_deterministic_and_thread_independent(make)


def test_save_and_load_round_trip_and_corrupt_files_are_refused(tmp_path):
    checks.check_save_load(built, _core.DsgIndex.load, tmp_path)


def test_bad_input_is_refused_naming_the_argument():
    checks.check_bad_input(built)
    with pytest.raises(ValueError, match="M must be >= 2"):
        _core.DsgIndex(checks.DIM, "l2", M=1, ef_construction=10, ef_max=10, alpha=1.0, seed=0)
    with pytest.raises(ValueError, match="alpha must be"):
        _core.DsgIndex(checks.DIM, "l2", M=8, ef_construction=10, ef_max=10, alpha=0.5, seed=0)
    with pytest.raises(ValueError, match="metric"):
        _core.DsgIndex(checks.DIM, "cosine", M=8, ef_construction=10, ef_max=10, alpha=1.0, seed=0)
    index = _core.DsgIndex(checks.DIM, "l2", M=8, ef_construction=10, ef_max=10, alpha=1.0, seed=0)
    with pytest.raises(ValueError, match="vectors have dimension"):
        index.build(checks.VECTORS[:, :4].copy(), 1)
    with pytest.raises(RuntimeError, match="not built"):
        index.search(
            checks.QUERIES, np.zeros(60, np.int64), np.ones(60, np.int64), 10, 10, 0, 1, **checks.OURS
        )


def test_build_does_not_depend_on_the_thread_count_and_inner_product_works():
    one, two = make(threads=1), make(threads=2)
    assert one.graph_stats() == two.graph_stats()
    starts, stops = checks.random_ranges(0.3, seed=2)
    for a, b in zip(
        one.search(checks.QUERIES, starts, stops, checks.K, 32, 0, 1, **checks.OURS),
        two.search(checks.QUERIES, starts, stops, checks.K, 32, 0, 1, **checks.OURS),
        strict=True,
    ):
        np.testing.assert_array_equal(a, b)
    ip = make(metric="ip")
    ids = ip.search(checks.QUERIES, starts, stops, checks.K, 64, 0, 1, **checks.OURS)[0]
    assert checks.recall(ids, checks.exact(starts, stops, "ip")) >= 0.9
