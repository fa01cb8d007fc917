"""kannolo ACORN-1 / ACORN-γ: filtered search end to end on a small dataset."""

from __future__ import annotations

import pytest

from fanns_bench.errors import ConfigError
from fanns_bench.filters.predicates import Range
from tests.methods.method_checks import (
    check_rare_padded,
    check_satisfies_with_recall,
    predicates,
    small_dataset,
)

pytest.importorskip("kannolo")

from fanns_bench.methods.kannolo.method import KannoloACORN1, KannoloACORNGamma  # noqa: E402


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory):
    return small_dataset(tmp_path_factory.mktemp("data") / "small")


@pytest.fixture(scope="module", params=["acorn1", "gamma"])
def built(request: pytest.FixtureRequest, dataset):
    if request.param == "acorn1":
        method = KannoloACORN1("ip", m=16, ef_construction=100)
    else:
        method = KannoloACORNGamma("ip", m=16, ef_construction=100, gamma=4)
    method.build(dataset)
    return method


# ~25% and ~60% selectivity: ACORN's regime on 32-d random data (at 1/750 ACORN-1 stops early)
PREDICATES = {**predicates("eq", "in", "and_or_not", "none"), "range": Range("year", 0, 59)}


@pytest.mark.parametrize("shape", sorted(PREDICATES))
def test_results_satisfy_the_predicate_with_high_recall(built, dataset, shape: str) -> None:
    check_satisfies_with_recall(built, dataset, PREDICATES[shape], ef_search=400)


def test_fewer_matches_than_k_pad_with_minus_one(built, dataset) -> None:
    check_rare_padded(built, dataset, all_found=False, ef_search=64)


def test_gamma_index_is_larger_than_plain_hnsw(dataset) -> None:
    plain = KannoloACORN1("ip", m=8, ef_construction=32)
    gamma = KannoloACORNGamma("ip", m=8, ef_construction=32, gamma=4)
    plain.build(dataset)
    gamma.build(dataset)
    assert 0 < plain.memory_bytes() < gamma.memory_bytes()


def test_unknown_build_param_is_refused() -> None:
    with pytest.raises(ConfigError, match="unknown build parameter 'gamma'"):
        KannoloACORN1("ip", gamma=4)
