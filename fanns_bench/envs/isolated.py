"""`IsolatedMethod`: a `Method` whose library runs in its own environment, behind a worker.

A subclass declares `environment` (pinned requirements, e.g. `("diskannpy==0.7.0",)`) and
`worker_handler` (a script beside its module defining `class Worker(workdir)`; it may
import only the standard library, numpy and the requirements). Its `build`/`search`
write inputs into `self.worker.workdir` and call `self.worker.call(...)`.

`prepare_environment()` (the protocol hook the runner calls before the build timer
starts) creates the environment on first use and starts the worker, so `build_seconds`
holds neither pip nor the interpreter start-up and library import. Used without the
runner, the first `self.worker` does both. Search time includes writing the query file and
reading the result file; the worker reports its own timings in `stats()` so both are visible.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from fanns_bench.envs.environment import ensure_environment
from fanns_bench.envs.process import WorkerProcess
from fanns_bench.methods.base import Method

if TYPE_CHECKING:
    from fanns_bench.data.dataset import Dataset


class IsolatedMethod(Method):
    """Base of methods whose dependencies conflict with ours (see module docstring)."""

    environment: ClassVar[tuple[str, ...]] = ()
    worker_handler: ClassVar[Path | None] = None

    _worker: WorkerProcess | None = None

    @classmethod
    def environment_python(cls) -> Path:
        """Create (first use) or find the environment; return its Python."""
        return ensure_environment(cls.environment, label=f"method {cls.name!r}")

    def prepare_environment(self, dataset: Dataset | None = None) -> None:
        """Create the environment (first use) and start the worker, outside the build timer."""
        self.worker  # noqa: B018 (starts it)

    @classmethod
    def missing_dependencies(cls) -> list[str]:
        """Only what creating the environment needs: the environment itself is made on use."""
        needed = ["venv", "ensurepip"] if cls.environment else ["venv"]
        return [m for m in needed if importlib.util.find_spec(m) is None]

    @property
    def worker(self) -> WorkerProcess:
        """The worker, started on first use (one that died is not restarted: its index is gone)."""
        if self._worker is None:
            if self.worker_handler is None:
                raise TypeError(f"{type(self).__name__} declares no worker_handler")
            self._worker = WorkerProcess(
                self.environment_python(),
                self.worker_handler,
                name=self.name,
                environ=self.worker_environ(),
            )
        return self._worker

    def worker_environ(self) -> dict[str, str]:
        """Extra environment variables of the worker (thread counts by default)."""
        threads = str(max(1, int(self.threads)))
        return {"OMP_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads}

    def close(self) -> None:
        if self._worker is not None:
            self._worker.close()
            self._worker = None
