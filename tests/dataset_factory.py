"""Small test datasets: random vectors beside a given attribute table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

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
