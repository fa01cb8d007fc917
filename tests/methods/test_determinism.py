"""Every registered method that declares a deterministic build (`Method.deterministic_build`
`always` or `one_thread`) builds twice to the same ids (`fanns_bench.determinism`); the
declaration itself is complete for every built-in method."""

from __future__ import annotations

import pytest

from fanns_bench.conformance import ConformanceError
from fanns_bench.determinism import check_deterministic, check_threads, determinism_dataset
from fanns_bench.errors import MethodError
from fanns_bench.methods.base import DETERMINISM
from fanns_bench.methods.registry import get_method, method_distribution, method_names
from tests.fakes import FakeSeeded, FakeUnseeded


def _declared() -> list:
    cases = []
    for name in method_names():
        try:
            cls = get_method(name)
        except MethodError:
            continue  # reported by the conformance test
        if check_threads(cls) is None:
            continue
        marks = [pytest.mark.slow] if getattr(cls, "environment", None) else []
        cases.append(pytest.param(name, marks=marks, id=name))
    return cases


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return determinism_dataset(tmp_path_factory.mktemp("determinism") / "d")


@pytest.mark.parametrize("name", _declared())
def test_declared_deterministic_build_gives_identical_ids(name, dataset):
    missing = get_method(name).missing_dependencies()
    if missing:
        pytest.skip(f"{name}: not installed ({', '.join(missing)})")
    check_deterministic(name, dataset)


def test_an_unseeded_build_declared_deterministic_fails(dataset):
    with pytest.raises(
        ConformanceError, match=r"fake_unseeded declares deterministic_build='always'.*EM: \d+ of"
    ):
        check_deterministic("fake_unseeded", dataset, cls=FakeUnseeded, build_params={})


def test_a_seeded_build_passes(dataset):
    check_deterministic("fake_seeded", dataset, cls=FakeSeeded, build_params={})


@pytest.mark.parametrize("name", method_names())
def test_built_in_methods_declare_determinism_with_a_reason(name):
    if method_distribution(name)[0] != "fanns-bench":
        pytest.skip(f"{name} is a plugin")
    cls = get_method(name)
    assert cls.deterministic_build in DETERMINISM and cls.deterministic_build != "unknown", name
    if cls.deterministic_build != "always":
        assert cls.nondeterminism, f"{name} declares {cls.deterministic_build!r} without saying why"
