"""Synthetic clustered embeddings with attributes of every kind the arXiv set has.

Vectors: a Gaussian mixture in a low-dimensional latent space (Zipf-sized clusters),
mapped linearly to `dimension` dims, plus isotropic noise, L2-normalised: low intrinsic
dimension, like sentence embeddings. Attributes:

- `category`   categorical, Zipf-distributed over `categories` values
- `tags`       list of categorical values (1-4 per item, Zipf)
- `score`      ordered integer, uniform in [0, 10000)
- `published`  date, uniform over 2007-01-01 .. 2025-12-31
- `num_authors` ordered integer, 1 + Poisson(3)

With `correlated=True`, `category` and `tags` follow the vector's cluster (as arXiv
categories follow topics), so filters and vector neighbourhoods overlap.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa

from fanns_bench.data.dataset import Dataset, write_dataset
from fanns_bench.errors import ConfigError

EPOCH_START = dt.date(2007, 1, 1)
EPOCH_DAYS = (dt.date(2025, 12, 31) - EPOCH_START).days


def build(
    path: Path,
    name: str,
    *,
    count: int = 10_000,
    queries: int = 1_000,
    dimension: int = 64,
    latent_dimension: int = 16,
    clusters: int = 50,
    noise: float = 0.04,
    categories: int = 40,
    tags: int = 100,
    correlated: bool = False,
    metric: str = "ip",
    seed: int = 0,
) -> Dataset:
    """Generate and write the dataset (deterministic given the parameters)."""
    if count < 1 or queries < 1 or dimension < 2 or latent_dimension < 1 or clusters < 1:
        raise ConfigError(
            f"synthetic dataset {name!r}: count, queries, clusters, latent_dimension must be >= 1 "
            f"and dimension >= 2 (got {count}, {queries}, {clusters}, {latent_dimension}, {dimension})"
        )
    rng = np.random.default_rng(seed)
    total = count + queries
    cluster_of = _zipf_choice(rng, clusters, total, exponent=1.0)
    vectors = _mixture_vectors(rng, cluster_of, dimension, latent_dimension, clusters, noise)
    attributes = _attributes(rng, cluster_of[:count], categories, tags, correlated)
    return write_dataset(
        path,
        name=name,
        vectors=vectors[:count],
        queries=vectors[count:],
        attributes=attributes,
        metric=metric,
        builder="synthetic",
        extra={"seed": seed, "correlated": correlated, "clusters": clusters},
    )


def _zipf_choice(rng: np.random.Generator, n: int, size: int, exponent: float) -> np.ndarray:
    weights = 1.0 / np.arange(1, n + 1) ** exponent
    return rng.choice(n, size=size, p=weights / weights.sum())


def _mixture_vectors(
    rng: np.random.Generator,
    cluster_of: np.ndarray,
    dimension: int,
    latent_dimension: int,
    clusters: int,
    noise: float,
    block_rows: int = 65_536,
) -> np.ndarray:
    """float32 vectors, computed `block_rows` rows at a time (memory: the output plus one
    block; the random draws are consumed in the same order as one whole-matrix draw)."""
    centres = rng.normal(size=(clusters, latent_dimension))
    spreads = rng.uniform(0.3, 0.8, size=clusters)[:, None]
    latent = centres[cluster_of] + spreads[cluster_of] * rng.normal(size=(len(cluster_of), latent_dimension))
    mapping = rng.normal(size=(latent_dimension, dimension)) / np.sqrt(latent_dimension)
    vectors = np.empty((len(cluster_of), dimension), dtype=np.float32)
    for start in range(0, len(cluster_of), block_rows):
        block = latent[start : start + block_rows] @ mapping
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        block += noise * rng.normal(size=block.shape) / np.sqrt(dimension) * 4
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        vectors[start : start + block_rows] = block
    return vectors


def _attributes(
    rng: np.random.Generator, cluster_of: np.ndarray, categories: int, tags: int, correlated: bool
) -> pa.Table:
    count = len(cluster_of)
    if correlated:
        category = cluster_of * 7 + (rng.random(count) < 0.1) * rng.integers(0, categories, count)
        category %= categories
    else:
        category = _zipf_choice(rng, categories, count, exponent=1.1)
    tag_counts = rng.integers(1, 5, count)
    tag_lists = []
    for i in range(count):
        drawn = _zipf_choice(rng, tags, tag_counts[i], exponent=1.0)
        if correlated:
            drawn = (drawn + cluster_of[i] * 3) % tags
        tag_lists.append([f"t{t:03d}" for t in sorted(set(drawn.tolist()))])
    published = rng.integers(0, EPOCH_DAYS + 1, count) + (EPOCH_START - dt.date(1970, 1, 1)).days
    return pa.table(
        {
            "category": pa.array([f"c{c:02d}" for c in category], pa.string()),
            "tags": pa.array(tag_lists, pa.list_(pa.string())),
            "score": pa.array(rng.integers(0, 10_000, count), pa.int64()),
            "published": pa.array(published.astype(np.int32), pa.int32()).cast(pa.date32()),
            "num_authors": pa.array(1 + rng.poisson(3, count), pa.int64()),
        }
    )


ATTRIBUTE_KINDS = {
    "category": "categorical",
    "tags": "set",
    "score": "ordered",
    "published": "ordered",
    "num_authors": "ordered",
}
