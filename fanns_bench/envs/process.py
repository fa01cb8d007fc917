"""The main-process side of a worker running in a method's own environment."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import weakref
from pathlib import Path
from typing import Any

from fanns_bench.errors import MethodError

WORKER_MAIN = Path(__file__).with_name("child_loop.py")
STDERR_TAIL_CHARS = 4000
EXIT_WAIT_SECONDS = 10.0


class WorkerProcess:
    """A worker process (`child_loop.py` + a handler script) and its working directory.

    `call(cmd, **args)` sends one request and returns the handler's result. A handler
    exception becomes a `MethodError` with its traceback; a worker that dies becomes a
    `MethodError` with its exit code and the tail of its stderr (kept in `stderr.log`).
    """

    def __init__(
        self, python: Path, handler: Path, *, name: str, environ: dict[str, str] | None = None
    ) -> None:
        self.name = name
        self.workdir = Path(tempfile.mkdtemp(prefix=f"fanns-{name}-"))
        self.stderr_path = self.workdir / "stderr.log"
        environment = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
        environment.update(environ or {})
        with open(self.stderr_path, "wb") as stderr:
            self._process = subprocess.Popen(
                [str(python), str(WORKER_MAIN), str(handler), str(self.workdir)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                bufsize=1,
                env=environment,
            )
        self._finalizer = weakref.finalize(self, _shutdown, self._process, self.workdir)
        try:
            self.pid = self._receive("start")["pid"]
        except MethodError:
            self._finalizer()
            raise

    def call(self, cmd: str, **args: Any) -> Any:
        """Send `cmd` with JSON-ready `args`; return the handler's result."""
        if self._process.poll() is not None:
            raise self._died(cmd)
        try:
            self._process.stdin.write(json.dumps({"cmd": cmd, "args": args}) + "\n")
            self._process.stdin.flush()
        except (BrokenPipeError, OSError):
            raise self._died(cmd) from None
        return self._receive(cmd)

    def close(self) -> None:
        """Ask the worker to exit, kill it if it does not, remove the working directory."""
        self._finalizer()

    @property
    def alive(self) -> bool:
        return self._process.poll() is None

    def stderr_tail(self) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")[-STDERR_TAIL_CHARS:]
        except OSError:
            return "(no stderr captured)"

    def _receive(self, cmd: str) -> Any:
        line = self._process.stdout.readline()
        if not line:
            raise self._died(cmd)
        reply = json.loads(line)
        if not reply["ok"]:
            raise MethodError(f"{self.name} worker failed on {cmd!r}:\n{reply['error']}")
        return reply["result"]

    def _died(self, cmd: str) -> MethodError:
        try:
            code = self._process.wait(timeout=EXIT_WAIT_SECONDS)
        except subprocess.TimeoutExpired:
            code = None
        return MethodError(
            f"{self.name} worker process died during {cmd!r} (exit code {code}); "
            f"the end of its stderr:\n{self.stderr_tail()}"
        )


def _shutdown(process: subprocess.Popen, workdir: Path) -> None:
    try:
        if process.poll() is None:
            try:
                process.stdin.write(json.dumps({"cmd": "exit"}) + "\n")
                process.stdin.flush()
                process.wait(timeout=EXIT_WAIT_SECONDS)
            except (BrokenPipeError, OSError, subprocess.TimeoutExpired):
                process.kill()
                process.wait()
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                stream.close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
