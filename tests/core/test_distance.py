"""The core's distance kernels (run-time dispatched SIMD and plain C++) against numpy."""

from __future__ import annotations

import numpy as np
import pytest

from fanns_bench import _core

DIMS = [1, 7, 16, 33, 64, 100, 384]


@pytest.fixture(params=[False, True], ids=["dispatched", "scalar"])
def kernels(request):
    previous = _core.force_scalar_kernels(request.param)
    yield
    _core.force_scalar_kernels(previous)


def data(dim: int, rows: int = 50) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(dim)
    return rng.standard_normal(dim).astype(np.float32), rng.standard_normal((rows, dim)).astype(np.float32)


@pytest.mark.parametrize("dim", DIMS)
def test_inner_product_is_negated_dot(kernels, dim):
    query, vectors = data(dim)
    np.testing.assert_allclose(
        _core.distances("ip", query, vectors), -(vectors @ query), rtol=1e-5, atol=1e-4
    )


@pytest.mark.parametrize("dim", DIMS)
def test_l2_is_squared_euclidean(kernels, dim):
    query, vectors = data(dim)
    expected = ((vectors - query) ** 2).sum(axis=1)
    np.testing.assert_allclose(_core.distances("l2", query, vectors), expected, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("dim", DIMS)
@pytest.mark.parametrize("metric", ["ip", "l2"])
def test_float16_storage_matches_rounded_vectors(kernels, dim, metric):
    query, vectors = data(dim)
    rounded = vectors.astype(np.float16).astype(np.float32)
    expected = -(rounded @ query) if metric == "ip" else ((rounded - query) ** 2).sum(axis=1)
    np.testing.assert_allclose(
        _core.distances(metric, query, vectors, "float16"), expected, rtol=1e-5, atol=1e-4
    )


def test_float16_conversion_rounds_like_numpy():
    values = np.array(
        [0.0, -0.0, 1e-8, 3e-8, 6.1e-5, 1e-6, 65504.0, 65520.0, 1e6, -1e6, 0.333, 2049.0, 2051.0],
        dtype=np.float32,
    )[:, None]
    with np.errstate(over="ignore"):  # 65520 and 1e6 round to infinity, as they should
        expected = -values[:, 0].astype(np.float16).astype(np.float32)
    np.testing.assert_array_equal(_core.distances("ip", np.ones(1, np.float32), values, "float16"), expected)


def test_simd_level_is_reported():
    assert _core.simd_level() in ("avx512", "avx2", "scalar")


@pytest.mark.parametrize(
    ("query", "vectors", "message"),
    [
        (np.zeros(4, np.float64), np.zeros((3, 4), np.float32), "query must have dtype float32, got float64"),
        (np.zeros(4, np.float32), np.zeros((3, 4), np.int64), "vectors must have dtype float32, got int64"),
        (np.zeros(4, np.float32), np.zeros((4, 3), np.float32).T, "vectors must be C-contiguous"),
        (np.zeros(4, np.float32), np.zeros(4, np.float32), "vectors must be 2-dimensional"),
        (np.zeros(5, np.float32), np.zeros((3, 4), np.float32), "differ in dimension"),
    ],
)
def test_bad_arrays_are_refused_with_a_clear_message(query, vectors, message):
    with pytest.raises(ValueError, match=message):
        _core.distances("ip", query, vectors)


def test_unknown_metric_and_storage_are_refused():
    query, vectors = data(4)
    with pytest.raises(ValueError, match="metric must be 'ip' or 'l2', got 'cos'"):
        _core.distances("cos", query, vectors)
    with pytest.raises(ValueError, match="storage must be 'float32' or 'float16', got 'int8'"):
        _core.distances("ip", query, vectors, "int8")
