"""Shared end-to-end checks for the per-method tests: a small dataset and the usual assertions.

Each `tests/test_methods_<family>.py` builds its index on `small_dataset` (or its own data) and
calls these checks: returned ids satisfy the predicate, recall against exact filtered top-k,
and -1 padding when fewer than k items match.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa

from fanns_bench.data.dataset import Dataset, write_dataset
from fanns_bench.filters.predicates import (
    And,
    Contains,
    ContainsAll,
    ContainsAny,
    Eq,
    In,
    Not,
    Or,
    Predicate,
    Range,
)
from fanns_bench.methods.base import run_search
from fanns_bench.scoring import exact_filtered_top_k

COLORS = ["red", "green", "blue", 'O\'Brien "quoted"']
RARE = Eq("color", "rare")  # 4 items: fewer than k

PREDICATES: dict[str, Predicate | None] = {
    "eq": Eq("color", COLORS[3]),
    "in": In("color", ("red", "blue")),
    "range": Range("year", 10, 19),
    "contains": Contains("tags", "t3"),
    "contains_any": ContainsAny("tags", ("t1", "t2")),
    "contains_all": ContainsAll("tags", ("t1", "t2")),
    "and_or_not": And((Or((Eq("color", "red"), Eq("flag", True))), Not(Contains("tags", "t0")))),
    "none": None,
}


def predicates(*shapes: str) -> dict[str, Predicate | None]:
    """The named entries of `PREDICATES`."""
    return {shape: PREDICATES[shape] for shape in shapes}


def small_dataset(path: Path, *, nullable_license: bool = False) -> Dataset:
    """3000 x 32 unit vectors (metric ip), 30 queries; `color` (categorical, values `COLORS`,
    `"rare"` on 4 items), `year` (0..99), `tags` (3 of t0..t19), `flag` (~30% true), and with
    `nullable_license` a string column `license` of "mit", "gpl" or null."""
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((3000, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    queries = rng.standard_normal((30, 32)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    color = np.array(COLORS)[rng.integers(0, len(COLORS), 3000)]
    color[rng.choice(3000, 4, replace=False)] = "rare"
    license_ = (
        pa.array(["mit", "gpl", None]).take(pa.array(rng.integers(0, 3, 3000))) if nullable_license else None
    )
    columns = {
        "color": color,
        "year": rng.integers(0, 100, 3000),
        "tags": [[f"t{j}" for j in rng.choice(20, 3, replace=False)] for _ in range(3000)],
        "flag": rng.random(3000) < 0.3,
    }
    if license_ is not None:
        columns["license"] = license_
    return write_dataset(
        path,
        name="small",
        vectors=vectors,
        queries=queries,
        attributes=pa.table(columns),
        metric="ip",
        builder="test",
    )


def run(method, dataset: Dataset, predicate, k: int = 10, **params) -> tuple[np.ndarray, list[np.ndarray]]:
    """Search every query of `dataset` under one predicate; return the ids and the exact top-k."""
    queries = np.asarray(dataset.queries)
    ids = dataset.attributes.ids(predicate)
    found = run_search(method, queries, [predicate] * len(queries), dataset.attribute_index, k, **params)
    truth = [exact_filtered_top_k(q, dataset.vectors, ids, k, "ip")[0] for q in queries]
    return found, truth


def recall(found: np.ndarray, truth: Sequence[np.ndarray]) -> float:
    """Share of the true neighbours found (padding ignored)."""
    hits = sum(
        len(set(row[row >= 0].tolist()) & set(t.tolist())) for row, t in zip(found, truth, strict=True)
    )
    return hits / sum(len(t) for t in truth)


def batch_recall(dataset: Dataset, found: np.ndarray, match_ids: Sequence[np.ndarray], k: int) -> float:
    """Recall@k of a batch whose queries each have their own filter (`match_ids` per row)."""
    truth = [
        exact_filtered_top_k(query, dataset.vectors, ids, k, dataset.metric)[0]
        for query, ids in zip(dataset.queries, match_ids, strict=True)
    ]
    return recall(found, truth)


def check_satisfies_with_recall(method, dataset: Dataset, predicate, minimum: float = 0.9, **params) -> None:
    """Every returned id matches `predicate`; recall@10 is at least `minimum`."""
    found, truth = run(method, dataset, predicate, **params)
    allowed = set(dataset.attributes.ids(predicate).tolist())
    assert set(found[found >= 0].tolist()) <= allowed
    assert recall(found, truth) >= minimum


def check_rare_padded(method, dataset: Dataset, *, all_found: bool = True, **params) -> None:
    """`RARE` (4 matches): the rows hold only those items (with `all_found`, all 4 first),
    then -1."""
    found, _ = run(method, dataset, RARE, **params)
    rare = sorted(dataset.attributes.ids(RARE).tolist())
    if all_found:
        assert all(sorted(row[:4].tolist()) == rare for row in found)
    else:
        assert set(found[found >= 0].tolist()) <= set(rare)
    assert (found[:, 4:] == -1).all()


def check_no_match_is_all_padding(method, dataset: Dataset, **params) -> None:
    """A value no item has gives rows of -1 only."""
    found, _ = run(method, dataset, Eq("color", "purple"), **params)
    assert (found == -1).all()
