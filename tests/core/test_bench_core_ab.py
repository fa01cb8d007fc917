"""scripts/bench_core_ab.py: the verdict on written rows (a slow method, a changed recall or
parameter, a failed process, a declared change) and one small run with both sides this
interpreter."""

from __future__ import annotations

import csv
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from fanns_bench.methods.common.compiled import CompiledIndexMethod
from fanns_bench.methods.registry import builtin_method_names, get_method

SCRIPT = Path(__file__).parents[2] / "scripts" / "bench_core_ab.py"
PARAMS = {"build": {"M": 16, "seed": 0}, "search": {"ef_search": 16}}


def load_script():
    spec = importlib.util.spec_from_file_location("bench_core_ab", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


ab = load_script()


def rows(method, before_qps, after_qps, recall=(0.9, 0.9), params=(PARAMS, PARAMS), error=""):
    """Rows of one method and point: one process pair per QPS value of each side."""
    out = []
    for n, pair in enumerate(zip(before_qps, after_qps, strict=True), start=1):
        for side, qps, r, p in zip(ab.SIDES, pair, recall, params, strict=True):
            out.append(
                {"side": side, "process": n, "method": method, "point": "ef_search=16",
                 "params": json.dumps(p, sort_keys=True), "recall": r, "qps": qps, "qps_cpu": qps,
                 "build_s": 1.0, "error": error if side == "after" and n == 2 else ""}
            )  # fmt: skip
    return out


def judged(tmp_path, table, capsys, *flags):
    path = tmp_path / "core-ab.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=ab.COLUMNS)
        writer.writeheader()
        writer.writerows(table)
    status = ab.main(["--rows", str(path), *flags])
    return status, capsys.readouterr()


def test_equal_speed_and_recall_pass_on_the_median_ratio(tmp_path, capsys):
    status, out = judged(tmp_path, rows("digra", [100, 100, 100], [90, 100, 101]), capsys)
    assert status == 0, out.out
    assert (
        "| digra | ef_search=16 | 0.9000 | 0.9000 | 100 | 100 [90-101] | 1.000 [0.900-1.010] | ok |"
        in out.out
    )
    assert "1 of 1 points within the target (after/before >= 0.97 by qps, equal recall)" in out.out


def test_a_slower_method_fails(tmp_path, capsys):
    table = rows("digra", [100, 100, 100], [100, 100, 100]) + rows("serf", [100, 100, 100], [90, 90, 91])
    status, out = judged(tmp_path, table, capsys)
    assert status == 1
    assert "outside: serf ef_search=16: after/before 0.9000 < 0.97" in out.out
    assert "1 of 2 points within the target" in out.out
    assert judged(tmp_path, table, capsys, "--min-ratio", "0.85")[0] == 0


def test_a_changed_recall_fails(tmp_path, capsys):
    status, out = judged(tmp_path, rows("dsg", [100] * 3, [100] * 3, recall=(0.9, 0.91)), capsys)
    assert status == 1
    assert "outside: dsg ef_search=16: recall differs: before [0.9], after [0.91]" in out.out


def test_changed_parameters_and_a_failed_process_fail(tmp_path, capsys):
    other = {"build": {"M": 32, "seed": 0}, "search": {"ef_search": 16, "new": True}}
    status, out = judged(tmp_path, rows("ung", [100] * 3, [100] * 3, params=(PARAMS, other)), capsys)
    assert status == 1
    assert "parameters differ: build.M: before 16, after 32; search.new: before (none), after True" in out.out
    status, out = judged(tmp_path, rows("caps", [100] * 3, [100] * 3, error="RuntimeError: boom"), capsys)
    assert (
        status == 1 and "outside: caps ef_search=16: failed (after process 2: RuntimeError: boom)" in out.out
    )


def test_a_declared_change_shows_both_recalls_and_no_ratio(tmp_path, capsys):
    status, out = judged(tmp_path, rows("acorn_1_ref", [100] * 3, [50] * 3, recall=(0.8, 0.9)), capsys)
    assert status == 0, out.out
    assert (
        "| acorn_1_ref | ef_search=16 | 0.8000 | 0.9000 | 100 | 50 | - | changed on purpose: ACORN _ref"
        in out.out
    )


def test_bad_input_is_one_line(tmp_path, capsys):
    (tmp_path / "bad.csv").write_text("side,method\nbefore,x\n")
    assert ab.main(["--rows", str(tmp_path / "bad.csv")]) == 2
    assert "missing columns" in capsys.readouterr().err
    assert ab.main(["--before", str(tmp_path / "python"), "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == f"error: --before {tmp_path / 'python'}: not an executable file\n"
    assert not (tmp_path / "out").exists()


def test_every_compiled_method_has_a_case():
    compiled = {n for n in builtin_method_names() if issubclass(get_method(n), CompiledIndexMethod)}
    assert compiled == set(ab.BY_NAME)


@pytest.mark.slow
def test_a_small_run_of_one_interpreter_against_itself(tmp_path):
    """Both sides this checkout (a method without after-only parameters): equal recall, rows written."""
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--before", sys.executable, "--methods", "acorn_1",
         "--data", "synthetic", "--processes", "2", "--queries", "20", "--repetitions", "1",
         "--min-repetition-s", "0", "--min-ratio", "0", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 of 2 points within the target" in result.stdout
    with (tmp_path / "core-ab.csv").open() as handle:
        written = list(csv.DictReader(handle))
    assert len(written) == 2 * 2 * 2  # sides x processes x points
    assert {row["error"] for row in written} == {""}
