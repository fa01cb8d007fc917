"""Finding and running the authors' programs, with one clear error for each way it fails."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from fanns_bench.errors import FannsBenchError


class ReferenceError(FannsBenchError):
    """The authors' program is missing, not executable, failed, or answered unreadably."""


def find_program(reference: Path, names: Sequence[str]) -> Path:
    """The first of `names` (paths relative to the build folder `reference`) that exists;
    `reference` may also be one of the programs itself (its folder is then searched)."""
    if not reference.exists():
        raise ReferenceError(
            f"--reference {reference}: no such file or folder (build the authors' program first)"
        )
    folder = reference.parent if reference.is_file() else reference
    tried = [folder / name for name in names]
    if reference.is_file() and reference.name in {Path(n).name for n in names}:
        tried.insert(0, reference)
    for path in tried:
        if path.is_file():
            if not os.access(path, os.X_OK):
                raise ReferenceError(f"{path}: not executable (chmod +x, or point --reference at the build)")
            return path
    raise ReferenceError(f"--reference {reference}: none of {', '.join(map(str, tried))} exists")


def run_program(
    command: Sequence[str | Path],
    log: Path,
    timeout: float | None = None,
    env: Mapping[str, str] | None = None,
) -> str:
    """Run `command`, keep its output in `log` (appended) and return its stdout. `env`: variables
    added to this process's environment (written before the command in the log).
    A non-zero exit or a timeout is a `ReferenceError` naming the program and the log."""
    argv = [str(part) for part in command]
    extra = dict(env or {})
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout, check=False,
            env={**os.environ, **extra} if extra else None,
        )  # fmt: skip
    except OSError as error:
        raise ReferenceError(f"{argv[0]}: cannot run ({error.strerror or error})") from None
    except subprocess.TimeoutExpired:
        raise ReferenceError(f"{argv[0]}: no answer within {timeout:.0f} s") from None
    shown = " ".join([*(f"{name}={value}" for name, value in extra.items()), *argv])
    with open(log, "a") as handle:
        handle.write(f"$ {shown}\n{done.stdout}{done.stderr}[exit {done.returncode}]\n\n")
    if done.returncode != 0:
        last = (done.stderr.strip() or done.stdout.strip() or "no output").splitlines()[-1]
        raise ReferenceError(f"{argv[0]} exited with {done.returncode}: {last} (full output: {log})")
    return done.stdout
