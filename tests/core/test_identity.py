"""scripts/core_identity.py: a fingerprint checks clean against itself and names what changed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parents[2] / "scripts" / "core_identity.py"


def identity(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *arguments], capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def fingerprint(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("identity") / "before.json"
    result = identity(str(path), "--methods", "ung")
    assert result.returncode == 0, result.stderr
    return path


def test_the_same_core_checks_identical(fingerprint, tmp_path):
    result = identity(str(tmp_path / "after.json"), "--check", str(fingerprint), "--methods", "ung")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith("identical")
    assert json.loads((tmp_path / "after.json").read_text()) == json.loads(fingerprint.read_text())


def test_a_changed_method_is_named_with_its_points(fingerprint, tmp_path):
    before = json.loads(fingerprint.read_text())
    point = sorted(before["ung"])[0]
    before["ung"][point]["distance_computations"] += 1
    before["groundtruth"]["ip"]["ids"] = "0" * 64
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(before))
    result = identity(str(tmp_path / "after.json"), "--check", str(tampered), "--methods", "ung")
    assert result.returncode == 1
    assert f"changed: ung: {point}" in result.stdout
    assert "changed: groundtruth: ip" in result.stdout
    assert "2 changed" in result.stdout


def test_an_unreadable_fingerprint_is_one_line(tmp_path):
    result = identity(str(tmp_path / "after.json"), "--check", str(tmp_path / "missing.json"))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "cannot read a fingerprint" in result.stderr
    assert not (tmp_path / "after.json").exists()
