"""Per-method virtual environments: created once per pinned requirement set, then reused.

`ensure_environment(["diskannpy==0.7.0"])` returns the Python of a virtual environment
holding exactly those requirements, creating it on first use under
`<cache>/envs/<key>` (`<cache>` = `$FANNS_BENCH_CACHE`, else `$XDG_CACHE_HOME/fanns-bench`,
else `~/.cache/fanns-bench`). The key hashes the requirements and the interpreter
(implementation, version, platform), so another Python gets another environment.

Creation is atomic: the environment is built in a staging directory and renamed into
place only after pip succeeded and the marker file (`fanns-env.json`, with `pip freeze`)
was written, so an interrupted creation leaves a staging directory, never a half-made
environment at the final path. A lock file serialises concurrent creators; staging
directories left by interrupted runs are removed under that lock.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from fanns_bench.errors import ConfigError, MethodError

MARKER = "fanns-env.json"
PINNED = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]*(\[[A-Za-z0-9._,\-]+\])?==[A-Za-z0-9.+!_\-]+$")
LOG_TAIL_CHARS = 3000


def cache_root() -> Path:
    """Where fanns-bench caches environments (see module docstring)."""
    if os.environ.get("FANNS_BENCH_CACHE"):
        return Path(os.environ["FANNS_BENCH_CACHE"]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "fanns-bench"


def check_pinned(requirements: Sequence[str]) -> list[str]:
    """The requirements, stripped; each must pin one version (`name==version`)."""
    cleaned = [r.strip() for r in requirements]
    for requirement in cleaned:
        if not PINNED.match(requirement):
            raise ConfigError(
                f"environment requirement {requirement!r} is not pinned; write it as "
                "'name==version' (e.g. 'diskannpy==0.7.0') so the environment is reproducible"
            )
    return cleaned


def environment_key(requirements: Sequence[str]) -> str:
    """Stable short hash of the requirements and the interpreter that runs them."""
    identity = {
        "requirements": sorted(r.lower() for r in check_pinned(requirements)),
        "python": [sys.implementation.name, *map(str, sys.version_info[:3])],
        "platform": [sys.platform, platform.machine()],
    }
    text = json.dumps(identity, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def environment_path(requirements: Sequence[str]) -> Path:
    """The directory the environment for `requirements` lives in (existing or not)."""
    return cache_root() / "envs" / environment_key(requirements)


def python_of(env_dir: Path) -> Path:
    """The interpreter of the virtual environment at `env_dir`."""
    return env_dir / "bin" / "python"


def is_ready(env_dir: Path) -> bool:
    """True when `env_dir` is a finished environment (marker written, interpreter present)."""
    return (env_dir / MARKER).is_file() and python_of(env_dir).exists()


def ensure_environment(requirements: Sequence[str], *, label: str = "") -> Path:
    """Python path of the environment for `requirements`, creating it on first use."""
    requirements = check_pinned(requirements)
    final = environment_path(requirements)
    if is_ready(final):
        return python_of(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    with _locked(final.with_name(final.name + ".lock")):
        if is_ready(final):  # another process finished it while we waited
            return python_of(final)
        _remove_leftovers(final)
        _create(final, requirements, label or ", ".join(requirements) or "no packages")
    return python_of(final)


@contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    with open(lock_path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _remove_leftovers(final: Path) -> None:
    """Staging directories of interrupted creations, and an unfinished final directory."""
    for stale in final.parent.glob(f".{final.name}.staging-*"):
        shutil.rmtree(stale, ignore_errors=True)
    if final.exists():
        shutil.rmtree(final)


def _create(final: Path, requirements: list[str], label: str) -> None:
    started = time.perf_counter()
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.staging-", dir=final.parent))
    log = staging / "pip.log"
    _say(f"creating the environment for {label} in {final} (first use only; pip install may take a minute)")
    try:
        venv_args = [] if requirements else ["--without-pip"]
        _run([sys.executable, "-m", "venv", *venv_args, str(staging)], log, "python -m venv")
        if requirements:
            _install(python_of(staging), requirements, log)
        frozen = _freeze(python_of(staging), log) if requirements else []
        marker = {
            "requirements": requirements,
            "python": sys.version.split()[0],
            "executable": sys.executable,
            "frozen": frozen,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "seconds": round(time.perf_counter() - started, 2),
        }
        (staging / MARKER).write_text(json.dumps(marker, indent=2))
        os.rename(staging, final)
    except MethodError:
        raise  # keep the staging directory: the message names its pip.log (removed next time)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _say(f"environment ready after {time.perf_counter() - started:.1f} s: {final}")


def _install(python: Path, requirements: list[str], log: Path) -> None:
    command = [str(python), "-m", "pip", "install", "--no-input", "--disable-pip-version-check"]
    _run([*command, *requirements], log, f"pip install {' '.join(requirements)}")


def _freeze(python: Path, log: Path) -> list[str]:
    output = _run([str(python), "-m", "pip", "freeze", "--all"], log, "pip freeze")
    return [line for line in output.splitlines() if line.strip()]


def _run(command: list[str], log: Path, what: str) -> str:
    """Run `command`, appending its output to `log`; failure raises `MethodError` with the tail."""
    environment = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    result = subprocess.run(
        command, capture_output=True, text=True, env=environment, stdin=subprocess.DEVNULL
    )
    with open(log, "a") as handle:
        handle.write(f"$ {' '.join(command)}\n{result.stdout}{result.stderr}\n")
    if result.returncode != 0:
        tail = (result.stdout + result.stderr)[-LOG_TAIL_CHARS:]
        raise MethodError(
            f"creating a method environment failed: {what} exited with {result.returncode} "
            f"(full log: {log}):\n{tail}"
        )
    return result.stdout


def _say(message: str) -> None:
    print(f"fanns-bench: {message}", file=sys.stderr, flush=True)
