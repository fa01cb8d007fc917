"""Per-method environments: pinning, cache reuse, recovery from interrupted creation, workers."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pytest

from fanns_bench.envs import environment
from fanns_bench.envs.environment import (
    check_pinned,
    ensure_environment,
    environment_key,
    environment_path,
)
from fanns_bench.envs.isolated import IsolatedMethod
from fanns_bench.errors import ConfigError, MethodError

HANDLER = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path

    class Worker:
        def __init__(self, workdir):
            self.workdir = Path(workdir)
            self.offset = None

        def build(self, offset):
            print("library noise on stdout")
            self.offset = offset
            return {"built": True}

        def search(self, values):
            return [v + self.offset for v in values]

        def fail(self):
            raise ValueError("bad request from the test")

        def crash(self):
            sys.stderr.write("boom: the library crashed\\n")
            sys.stderr.flush()
            os._exit(3)
    """
)


@pytest.fixture()
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FANNS_BENCH_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_requirements_must_be_pinned():
    assert check_pinned([" diskannpy==0.7.0", "psycopg[binary]==3.3.9"]) == [
        "diskannpy==0.7.0",
        "psycopg[binary]==3.3.9",
    ]
    for loose in ("diskannpy", "numpy>=1.25", "numpy==1.*; python_version<'3.12'"):
        with pytest.raises(ConfigError, match="not pinned"):
            check_pinned([loose])


def test_key_ignores_order_and_case_but_not_versions():
    assert environment_key(["a==1", "B==2"]) == environment_key(["b==2", "a==1"])
    assert environment_key(["a==1"]) != environment_key(["a==2"])


def test_environment_is_created_once_then_reused(cache: Path, monkeypatch: pytest.MonkeyPatch):
    python = ensure_environment([])
    env_dir = environment_path([])
    assert python == env_dir / "bin" / "python" and python.exists()
    assert env_dir.parent == cache / "envs"
    assert json.loads((env_dir / "fanns-env.json").read_text())["requirements"] == []

    def must_not_create(*args, **kwargs):
        raise AssertionError("a cached environment was created again")

    monkeypatch.setattr(environment, "_create", must_not_create)
    assert ensure_environment([]) == python


def test_interrupted_creation_leaves_nothing_final(cache: Path, monkeypatch: pytest.MonkeyPatch):
    real_run = environment._run

    def interrupted_run(*args, **kwargs):
        real_run(*args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(environment, "_run", interrupted_run)
    with pytest.raises(KeyboardInterrupt):
        ensure_environment([])
    assert not environment_path([]).exists()
    monkeypatch.setattr(environment, "_run", real_run)
    assert ensure_environment([]).exists()


def test_leftovers_of_a_killed_creation_are_replaced(cache: Path):
    final = environment_path([])
    stale = final.parent / f".{final.name}.staging-killed"
    (stale / "bin").mkdir(parents=True)
    (final / "bin").mkdir(parents=True)  # a half-made environment: no marker file
    python = ensure_environment([])
    assert python.exists() and (final / "fanns-env.json").is_file()
    assert not stale.exists()


def test_failed_install_reports_the_output_and_keeps_the_log(cache: Path, monkeypatch: pytest.MonkeyPatch):
    def failing_install(python, requirements, log):
        command = [str(python), "-c", "import sys; print('No matching distribution'); sys.exit(1)"]
        environment._run(command, log, f"pip install {' '.join(requirements)}")

    monkeypatch.setattr(environment, "_install", failing_install)
    monkeypatch.setattr(environment.subprocess, "run", _without_pip(environment.subprocess.run))
    with pytest.raises(MethodError, match=r"pip install nothing==1 exited with 1(.|\n)*No matching"):
        ensure_environment(["nothing==1"])
    final = environment_path(["nothing==1"])
    assert not final.exists()
    [staging] = final.parent.glob(f".{final.name}.staging-*")
    assert "No matching distribution" in (staging / "pip.log").read_text()


def _without_pip(run):
    """`python -m venv` without pip, to keep the test fast (no ensurepip)."""

    def patched(command, *args, **kwargs):
        if command[1:3] == ["-m", "venv"] and "--without-pip" not in command:
            command = [*command[:3], "--without-pip", *command[3:]]
        return run(command, *args, **kwargs)

    return patched


class EchoMethod(IsolatedMethod):
    """A test-only isolated method whose worker adds an offset."""

    name = "echo_isolated"
    environment = ()

    def build(self, dataset) -> None:
        self.worker.call("build", offset=dataset)

    def search(self, queries, filters, k, **search_params):
        return np.array(self.worker.call("search", values=list(queries)))


@pytest.fixture()
def echo(cache: Path, tmp_path: Path):
    handler = tmp_path / "echo_worker.py"
    handler.write_text(HANDLER)
    EchoMethod.worker_handler = handler
    method = EchoMethod(metric="ip")
    yield method
    method.close()


def test_worker_round_trip_ignores_library_stdout(echo: EchoMethod):
    echo.build(10)
    assert echo.search([1, 2], None, 1).tolist() == [11, 12]
    assert "library noise on stdout" in echo.worker.stderr_tail()


def test_handler_exception_is_a_method_error_and_the_worker_survives(echo: EchoMethod):
    echo.build(1)
    with pytest.raises(MethodError, match="ValueError: bad request from the test"):
        echo.worker.call("fail")
    assert echo.search([1], None, 1).tolist() == [2]


def test_worker_crash_reports_exit_code_and_stderr(echo: EchoMethod):
    echo.build(1)
    with pytest.raises(MethodError, match=r"died during 'crash' \(exit code 3\)(.|\n)*boom: the library"):
        echo.worker.call("crash")
    with pytest.raises(MethodError, match="died"):
        echo.search([1], None, 1)


def test_close_stops_the_worker_and_removes_its_directory(echo: EchoMethod):
    echo.build(1)
    worker = echo.worker
    echo.close()
    assert not worker.alive and not worker.workdir.exists()
