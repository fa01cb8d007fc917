"""hnswlib with its filter callback: membership callables and filtered search end to end."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from fanns_bench.data.store import write_dataset
from fanns_bench.filters.predicates import And, Contains, ContainsAll, Eq, In, Not, Or, Range
from fanns_bench.methods.base import FilterBatch
from fanns_bench.methods.hnswlib_filter.membership import membership_test
from fanns_bench.scoring import exact_filtered_top_k

pytest.importorskip("hnswlib")

from fanns_bench.methods.hnswlib_filter.method import HnswlibFilter  # noqa: E402


@pytest.mark.parametrize("ids", [np.array([2, 5], dtype=np.int64), np.arange(0, 10, 2)])
def test_membership_test_returns_real_bools(ids: np.ndarray) -> None:
    test = membership_test(ids, 10)
    assert [test(i) for i in range(10)] == [i in set(ids.tolist()) for i in range(10)]
    assert all(type(test(i)) is bool for i in range(10))


# --- end to end on a small dataset built here ---------------------------------------------

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


@pytest.fixture(scope="module")
def built(dataset):
    method = HnswlibFilter("ip", threads=2, M=16, ef_construction=100)
    method.build(dataset)
    return method


PREDICATES = {
    "eq": Eq("color", COLORS[3]),
    "in": In("color", ("red", "blue")),
    "range": Range("year", 10, 19),
    "contains": Contains("tags", "t3"),
    "contains_all": ContainsAll("tags", ("t1", "t2")),
    "and_or_not": And((Or((Eq("color", "red"), Eq("flag", True))), Not(Contains("tags", "t0")))),
    "none": None,
}


@pytest.mark.parametrize("shape", sorted(PREDICATES))
def test_results_satisfy_the_predicate_with_high_recall(built, dataset, shape: str) -> None:
    found, truth = run(built, dataset, PREDICATES[shape], ef=256)
    allowed = set(dataset.attributes.ids(PREDICATES[shape]).tolist())
    assert set(found[found >= 0].tolist()) <= allowed
    assert recall(found, truth) >= 0.9


def test_fewer_matches_than_k_pad_with_minus_one(built, dataset) -> None:
    found, _ = run(built, dataset, Eq("color", "rare"), ef=64)
    rare = sorted(dataset.attributes.ids(Eq("color", "rare")).tolist())
    assert all(sorted(row[:4].tolist()) == rare for row in found)
    assert (found[:, 4:] == -1).all()


def test_no_match_gives_an_all_padding_row(built, dataset) -> None:
    found, _ = run(built, dataset, Eq("color", "purple"))
    assert (found == -1).all()


def test_mixed_filters_in_one_batch(built, dataset) -> None:
    predicates = [PREDICATES["eq"], None, Eq("color", "rare")] * 10
    ids = [dataset.attributes.ids(p) for p in predicates]
    queries = np.asarray(dataset.queries)
    found = built.search(queries, FilterBatch(predicates, ids, dataset.count), 10, ef=128)
    for row, allowed in zip(found, ids, strict=True):
        assert set(row[row >= 0].tolist()) <= set(allowed.tolist())
        assert (row >= 0).sum() == min(10, len(allowed))


def test_memory_covers_vectors_and_links(built, dataset) -> None:
    vectors = dataset.count * dataset.dimension * 4
    links = dataset.count * (2 * 16 + 1) * 4
    assert vectors + links < built.memory_bytes() < 1.2 * (vectors + links + dataset.count * 8)
    assert built.stats() == {"filtered_search_threads": 1.0}


def test_unknown_search_param_is_refused(built, dataset) -> None:
    with pytest.raises(TypeError, match="efSearch"):
        run(built, dataset, None, efSearch=64)
