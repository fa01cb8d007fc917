"""The conformance suite checks what the runner checks, has a timeout, and fails in one line."""

import tempfile

import pytest

from fanns_bench.conformance import SHAPES, ConformanceError, run_conformance
from fanns_bench.errors import MethodError
from fanns_bench.methods.exact.method import ExactPrefilter
from fanns_bench.runner.measure import checked_ids
from tests.cli.test_commands import cli


def test_a_conforming_method_passes_in_its_child_process():
    seen = []
    results = run_conformance("tests.fakes:FakePlain", progress=seen.append, timeout_s=120)
    assert [r.status for r in results] == ["ok"] * 5 and seen == results
    assert tuple(r.filter_type for r in results) == SHAPES  # what validate accepts in known_limits


@pytest.mark.parametrize(
    ("method", "message"),
    [
        ("FakeFloatIds", r"returned float64 of shape \(20, 10\); expected integer ids"),
        ("FakeOutOfRange", r"returned id \d+ \(query 0, rank 1\); expected ids in \[0, 3000\) or -1"),
        ("FakeBuildError", r"FakeBuildError: build: ValueError: deliberate build failure"),
        ("FakeSegfault", r"the check process died \(exit status -11\) during build"),
    ],
)
def test_a_broken_method_fails_with_one_message(method, message):
    with pytest.raises(ConformanceError, match=message):
        run_conformance(f"tests.fakes:{method}", timeout_s=120)


def test_a_hanging_check_fails_after_its_timeout_and_leaves_no_scratch(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # where the check's scratch goes, in both processes
    monkeypatch.setattr(tempfile, "tempdir", None)
    with pytest.raises(
        ConformanceError, match=r"FakeHang: no answer within 3 s during search EM: the check hangs"
    ):
        run_conformance("tests.fakes:FakeHang", timeout_s=3)
    assert list(tmp_path.iterdir()) == []  # the killed child's dataset folder is gone


@pytest.mark.parametrize(
    ("ids", "message"),
    [
        ([[0, 1], [2, 3.0]], "float64"),
        ([[0, 1]], r"shape \(1, 2\)"),
        ([[0, 1], [2, 10]], r"id 10 \(query 1, rank 2\)"),
        ([[0, -2], [2, 3]], r"id -2 \(query 0, rank 2\)"),
    ],
)
def test_checked_ids_refuses_what_no_run_accepts(ids, message):
    with pytest.raises(MethodError, match=message):
        checked_ids(ExactPrefilter(metric="ip", threads=1), ids, 2, 2, count=10)


def test_checked_ids_accepts_padding_and_ids_in_range():
    assert (
        checked_ids(ExactPrefilter(metric="ip", threads=1), [[9, -1], [0, -1]], 2, 2, count=10).dtype
        == "int64"
    )


def test_conformance_cli_prints_failed_not_a_traceback(tmp_path):
    result = cli(tmp_path, "conformance", "tests.fakes:FakeBuildError")
    assert result.returncode == 1
    assert "FAILED: tests.fakes:FakeBuildError: build: ValueError: deliberate build failure" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
