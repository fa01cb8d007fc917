"""Every registered method passes the conformance suite (`fanns_bench.conformance`).

A method that fails to import is reported as its own failing case, never a collection error.
"""

from __future__ import annotations

import pytest

from fanns_bench.conformance import (
    check_declared_without_building,
    check_method,
    conformance_dataset,
    method_config,
    method_point,
)
from fanns_bench.errors import MethodError
from fanns_bench.methods.registry import get_method, method_names


def _cases() -> list:
    cases = []
    for name in method_names():
        try:
            slow = bool(getattr(get_method(name), "environment", None))
        except MethodError:
            slow = False  # the test itself reports the import failure
        cases.append(pytest.param(name, marks=[pytest.mark.slow] if slow else [], id=name))
    return cases


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return conformance_dataset(tmp_path_factory.mktemp("conformance") / "c")


@pytest.mark.parametrize("name", _cases())
def test_method_conforms(name, dataset):
    missing = get_method(name).missing_dependencies()
    if missing:
        pytest.skip(f"{name}: not installed ({', '.join(missing)})")
    results = check_method(name, dataset)
    limits = [str(r) for r in results if r.status == "known limit"]
    if limits:
        pytest.xfail(f"{name}: declared known limits: {limits}")


@pytest.mark.parametrize("name", _cases())
def test_unsupported_shapes_are_declared_without_building(name, dataset):
    build_params = method_point(name, method_config(name))[0]
    check_declared_without_building(get_method(name), build_params, dataset.attributes.kinds)
