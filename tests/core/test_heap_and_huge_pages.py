"""The searches' result heap (`_core.closest_of`), the huge-page span of an array and the vector
table's cache-line alignment."""

from __future__ import annotations

import platform

import numpy as np
import pytest

from fanns_bench import _core
from tests.core import range_graph_checks as checks

MIB = 1 << 20
HUGE = 2 * MIB


@pytest.mark.parametrize("capacity", [1, 2, 3, 16, 64, 500, 600])
def test_result_heap_keeps_the_closest_ties_broken_by_id(capacity):
    rng = np.random.default_rng(capacity)
    n = 500
    distances = rng.integers(0, 20, n).astype(np.float32)  # many ties
    ids = rng.permutation(10 * n)[:n].astype(np.int64)
    got_d, got_ids = _core.closest_of(distances, ids, capacity)
    order = np.lexsort((ids, distances))[:capacity]
    np.testing.assert_array_equal(got_ids, ids[order])
    np.testing.assert_array_equal(got_d, distances[order])


def test_result_heap_refuses_bad_input():
    with pytest.raises(ValueError, match="capacity must be >= 1"):
        _core.closest_of(np.zeros(3, np.float32), np.arange(3, dtype=np.int64), 0)
    with pytest.raises(ValueError, match="differ in length"):
        _core.closest_of(np.zeros(3, np.float32), np.arange(2, dtype=np.int64), 1)


@pytest.mark.parametrize(
    ("offset", "size", "expected"),
    [
        (0, 2 * HUGE, (0, 2 * HUGE)),  # aligned: both pages
        (1, 2 * HUGE, (HUGE, HUGE)),  # one byte late: only the second page lies wholly inside
        (0, HUGE, (0, HUGE)),
        (0, HUGE - 1, (0, 0)),  # no whole page
        (1, HUGE, (HUGE, 0)),
        (0, 0, (0, 0)),
        (HUGE - 4096, HUGE + 4096, (HUGE, HUGE)),
    ],
)
def test_huge_page_span_is_the_whole_pages_inside_an_array(offset, size, expected):
    base = 64 * HUGE
    first, span = _core.huge_page_span(base + offset, size)
    assert span == expected[1]
    if span:
        assert first == base + expected[0]


def test_small_dsg_index_has_no_huge_page():
    index = _core.DsgIndex(checks.DIM, "l2", M=8, ef_construction=16, ef_max=16, alpha=1.0, seed=0)
    index.build(checks.VECTORS, 1)
    assert index.graph_stats()["huge_page_bytes"] == 0  # 2k x 32 floats: no whole 2 MiB page


def test_dsg_vectors_start_on_a_cache_line_after_build_and_load(tmp_path):
    # 2k x 32 floats (256 KiB): a plain std::vector gets malloc's 16-byte alignment (offset 16)
    index = _core.DsgIndex(checks.DIM, "l2", M=8, ef_construction=16, ef_max=16, alpha=1.0, seed=0)
    index.build(checks.VECTORS, 1)
    assert index.graph_stats()["vectors_line_offset"] == 0
    index.save(str(tmp_path / "dsg"))
    loaded = _core.DsgIndex.load(str(tmp_path / "dsg"))
    assert loaded.graph_stats()["vectors_line_offset"] == 0


def _kernel_collapses() -> bool:
    """Linux 6.1+ (MADV_COLLAPSE) with transparent huge pages not switched off."""
    if platform.system() != "Linux":
        return False
    try:
        with open("/sys/kernel/mm/transparent_hugepage/enabled") as f:
            if "[never]" in f.read():
                return False
    except OSError:
        return False
    major, minor = (int(x) for x in platform.release().split(".")[:2])
    return (major, minor) >= (6, 1)


@pytest.mark.skipif(not _kernel_collapses(), reason="kernel without MADV_COLLAPSE or THP off")
def test_large_dsg_index_maps_its_vectors_on_huge_pages_and_answers_the_same(tmp_path):
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((4096, 256)).astype(np.float32)  # 4 MiB of vectors
    index = _core.DsgIndex(256, "l2", M=4, ef_construction=8, ef_max=8, alpha=1.0, seed=0)
    index.build(vectors, 1)
    assert index.graph_stats()["huge_page_bytes"] >= HUGE
    index.save(str(tmp_path / "dsg"))
    loaded = _core.DsgIndex.load(str(tmp_path / "dsg"))
    assert loaded.graph_stats()["huge_page_bytes"] >= HUGE
    queries = rng.standard_normal((20, 256)).astype(np.float32)
    starts = np.zeros(20, np.int64)
    stops = np.full(20, 4096, np.int64)
    a = index.search(queries, starts, stops, 10, 32, 0, 1, return_seeds=False, raise_ef_to_k=False)
    b = loaded.search(queries, starts, stops, 10, 32, 0, 1, return_seeds=False, raise_ef_to_k=False)
    np.testing.assert_array_equal(a[0], b[0])
