"""`make bench` covers the field: the laptop experiment runs every built-in registered method,
or lists it under `methods_left_out` with a reason."""

from __future__ import annotations

from typing import Any

import pytest

from fanns_bench.configs import compose
from fanns_bench.methods.registry import builtin_method_names

LEFT_OUT = "methods_left_out"  # configs/experiment/laptop.yaml: method name -> why it is not run


def coverage_problems(config: dict[str, Any], registered: list[str]) -> list[str]:
    """What keeps `config` from covering `registered`: a method neither run nor left out with
    a reason, a left-out entry without a reason or naming no registered method, or one both."""
    run = {(method or {}).get("name", key) for key, method in (config.get("method") or {}).items()}
    left_out = config.get(LEFT_OUT) or {}
    if not isinstance(left_out, dict):
        return [f"{LEFT_OUT} must map method names to reasons, not {type(left_out).__name__}"]
    problems = [
        f"{name}: registered but neither run nor listed under {LEFT_OUT} with a reason"
        for name in registered
        if name not in run and name not in left_out
    ]
    for name, reason in left_out.items():
        if name not in registered:
            problems.append(f"{LEFT_OUT}.{name}: no such built-in method")
        if not isinstance(reason, str) or not reason.strip():
            problems.append(f"{LEFT_OUT}.{name}: give the reason it is left out")
        if name in run:
            problems.append(f"{LEFT_OUT}.{name}: run all the same")
    return problems


def test_the_laptop_experiment_runs_or_lists_every_built_in_method():
    registered = builtin_method_names()
    assert {"exact", "ung", "acorn_gamma_ref", "serf"} <= set(registered)
    assert coverage_problems(compose(["laptop"]), registered) == []


def test_a_newly_registered_method_fails_until_run_or_listed():
    config = compose(["laptop"])
    registered = [*builtin_method_names(), "new_method"]
    assert coverage_problems(config, registered) == [
        f"new_method: registered but neither run nor listed under {LEFT_OUT} with a reason"
    ]
    listed = {**config, LEFT_OUT: {**(config.get(LEFT_OUT) or {}), "new_method": "needs a GPU"}}
    assert coverage_problems(listed, registered) == []


@pytest.mark.parametrize(
    ("left_out", "problem"),
    [
        ({"exact": "too slow"}, f"{LEFT_OUT}.exact: run all the same"),
        ({"nope": "gone"}, f"{LEFT_OUT}.nope: no such built-in method"),
        ({"exact": " "}, f"{LEFT_OUT}.exact: give the reason it is left out"),
        (["exact"], f"{LEFT_OUT} must map method names to reasons, not list"),
    ],
)
def test_a_left_out_entry_needs_a_registered_name_a_reason_and_no_run(left_out, problem):
    config = {"method": {"exact": {}}, LEFT_OUT: left_out}
    assert problem in coverage_problems(config, ["exact"])


def test_a_method_run_under_another_key_counts_by_its_name():
    config = {"method": {"ung_emis": {"name": "ung"}}}
    assert coverage_problems(config, ["ung"]) == []
    assert coverage_problems(config, ["ung", "caps"]) != []
