"""Shared fixtures: a tiny synthetic dataset, built once per test session."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from fanns_bench.data import synthetic
from fanns_bench.data.dataset import Dataset

TESTS_DIR = Path(__file__).resolve().parent
if str(TESTS_DIR.parent) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR.parent))


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    """1,500 x 16 clustered vectors with every attribute kind (metric ip)."""
    root = tmp_path_factory.mktemp("datasets")
    return synthetic.build(
        root / "tiny",
        "tiny",
        count=1500,
        queries=100,
        dimension=16,
        latent_dimension=6,
        clusters=10,
        categories=8,
        tags=20,
        seed=3,
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slow end-to-end tests first: on `make test`'s xdist workers the long ones start
    early, and the suite does not end waiting on one long test on one worker."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
