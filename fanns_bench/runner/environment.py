"""The machine and software a measurement ran on, recorded with every row."""

from __future__ import annotations

import json
import os
import platform
import socket
import subprocess
from functools import cache
from importlib.metadata import PackageNotFoundError, packages_distributions, version
from pathlib import Path

import fanns_bench

PACKAGES = ("numpy", "faiss-cpu", "hnswlib", "pyarrow", "pandas")


@cache
def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


@cache
def git_commit() -> str | None:
    root = Path(fanns_bench.__file__).resolve().parent.parent
    try:
        result = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if result.returncode != 0:
        return None
    dirty = subprocess.run(
        ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
        timeout=5,
        check=False,
    ).stdout.strip()
    return result.stdout.strip() + ("-dirty" if dirty else "")


@cache
def distributions_of(modules: tuple[str, ...]) -> tuple[str, ...]:
    """The installed distributions providing these top-level modules (e.g. qdrant_edge)."""
    mapping = packages_distributions()
    return tuple(sorted({d for m in modules for d in mapping.get(m.split(".")[0], ())}))


def library_versions(modules: tuple[str, ...], package: str) -> str:
    """The installed distributions providing `modules`, other than `package` (a method's own),
    as `dist==version` joined by ", ", sorted; "" when none."""
    return ", ".join(f"{d}=={version(d)}" for d in distributions_of(modules) if d != package)


def package_versions(extra: tuple[str, ...] = ()) -> str:
    """JSON of Python's and the given distributions' versions (missing ones omitted)."""
    versions = {"python": platform.python_version()}
    for name in PACKAGES + extra:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            continue
    return json.dumps(versions, sort_keys=True)


def environment_columns(method_modules: tuple[str, ...] = ()) -> dict[str, object]:
    """The environment columns of a result row; `method_modules`: what the method imports."""
    return {
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "hostname": socket.gethostname(),
        "git_commit": git_commit(),
        "versions": package_versions(distributions_of(tuple(method_modules))),
        "fanns_bench_version": fanns_bench.__version__,
    }
