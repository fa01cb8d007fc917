"""kannolo ACORN-1 / ACORN-γ: filtered search end to end on a small dataset."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from fanns_bench.data.store import write_dataset
from fanns_bench.filters.predicates import And, Contains, Eq, In, Not, Or, Range
from fanns_bench.methods.base import FilterBatch
from fanns_bench.scoring import exact_filtered_top_k

pytest.importorskip("kannolo")

from fanns_bench.methods.kannolo_acorn.method import KannoloACORN1, KannoloACORNGamma  # noqa: E402

COLORS = ["red", "green", "blue", 'O\'Brien "quoted"']


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory):
    """3000 x 32 unit vectors; attributes of every kind; `color == "rare"` on 4 items."""
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((3000, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    queries = rng.standard_normal((30, 32)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    color = np.array(COLORS)[rng.integers(0, len(COLORS), 3000)]
    color[rng.choice(3000, 4, replace=False)] = "rare"
    attributes = pa.table(
        {
            "color": color,
            "year": rng.integers(0, 100, 3000),
            "tags": [[f"t{j}" for j in rng.choice(20, 3, replace=False)] for _ in range(3000)],
            "flag": rng.random(3000) < 0.3,
        }
    )
    return write_dataset(
        tmp_path_factory.mktemp("data") / "small",
        name="small",
        vectors=vectors,
        queries=queries,
        attributes=attributes,
        metric="ip",
        builder="test",
    )


def run(method, dataset, predicate, k: int = 10, **params) -> tuple[np.ndarray, list[np.ndarray]]:
    queries = np.asarray(dataset.queries)
    ids = dataset.attributes.ids(predicate)
    filters = FilterBatch([predicate] * len(queries), [ids] * len(queries), dataset.count)
    found = method.search(queries, filters, k, **params)
    truth = [exact_filtered_top_k(q, dataset.vectors, ids, k, "ip")[0] for q in queries]
    return found, truth


def recall(found: np.ndarray, truth: list[np.ndarray]) -> float:
    hits = sum(
        len(set(row[row >= 0].tolist()) & set(t.tolist())) for row, t in zip(found, truth, strict=True)
    )
    return hits / sum(len(t) for t in truth)


@pytest.fixture(scope="module", params=["acorn1", "gamma"])
def built(request: pytest.FixtureRequest, dataset):
    if request.param == "acorn1":
        method = KannoloACORN1("ip", m=16, ef_construction=100)
    else:
        method = KannoloACORNGamma("ip", m=16, ef_construction=100, gamma=4)
    method.build(dataset)
    return method


# ~25% and ~60% selectivity: ACORN's regime on 32-d random data (at 1/750 ACORN-1 stops early)
PREDICATES = {
    "eq": Eq("color", COLORS[3]),
    "in": In("color", ("red", "blue")),
    "range": Range("year", 0, 59),
    "and_or_not": And((Or((Eq("color", "red"), Eq("flag", True))), Not(Contains("tags", "t0")))),
    "none": None,
}


@pytest.mark.parametrize("shape", sorted(PREDICATES))
def test_results_satisfy_the_predicate_with_high_recall(built, dataset, shape: str) -> None:
    found, truth = run(built, dataset, PREDICATES[shape], ef_search=400)
    allowed = set(dataset.attributes.ids(PREDICATES[shape]).tolist())
    assert set(found[found >= 0].tolist()) <= allowed
    assert recall(found, truth) >= 0.9


def test_fewer_matches_than_k_pad_with_minus_one(built, dataset) -> None:
    found, _ = run(built, dataset, Eq("color", "rare"), ef_search=64)
    rare = set(dataset.attributes.ids(Eq("color", "rare")).tolist())
    assert set(found[found >= 0].tolist()) <= rare
    assert (found[:, 4:] == -1).all()


def test_gamma_index_is_larger_than_plain_hnsw(dataset) -> None:
    plain = KannoloACORN1("ip", m=8, ef_construction=32)
    gamma = KannoloACORNGamma("ip", m=8, ef_construction=32, gamma=4)
    plain.build(dataset)
    gamma.build(dataset)
    assert 0 < plain.memory_bytes() < gamma.memory_bytes()


def test_unknown_build_param_is_refused() -> None:
    with pytest.raises(TypeError):
        KannoloACORN1("ip", gamma=4)
