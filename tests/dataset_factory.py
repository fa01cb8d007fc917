"""Small test datasets: random vectors beside a given attribute table; the graph checks' synthetic set."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from fanns_bench.data import synthetic
from fanns_bench.data.dataset import Dataset, write_dataset


def random_dataset(
    path: Path,
    attributes: pa.Table,
    *,
    dimension: int = 4,
    queries: int = 50,
    metric: str = "l2",
    seed: int = 0,
) -> Dataset:
    """A dataset at `path` (named after it) with one standard-normal vector per attribute row."""
    rng = np.random.default_rng(seed)
    return write_dataset(
        path,
        name=Path(path).name,
        vectors=rng.normal(size=(attributes.num_rows, dimension)).astype(np.float32),
        queries=rng.normal(size=(queries, dimension)).astype(np.float32),
        attributes=attributes,
        metric=metric,
        builder="test",
    )


def reachability_dataset(path: Path) -> Dataset:
    """The synthetic set of the graph reachability checks (2,000 x 32, inner product; 12
    clusters): tests/methods/test_graph_reachability.py, and tests/core/test_acorn.py's
    preempted insertion (CI's 2-core runner saw ACORN's build race on it)."""
    return synthetic.build(
        path,
        Path(path).name,
        count=2000,
        queries=10,
        dimension=32,
        latent_dimension=8,
        clusters=12,
        categories=10,
        tags=30,
        seed=11,
    )
