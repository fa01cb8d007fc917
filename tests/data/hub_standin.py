"""A local stand-in for the Hugging Face Hub's file endpoints, on 127.0.0.1 (for the fetch tests).

Serves `HEAD`/`GET /datasets/<repo>/resolve/<revision>/<file>` as the Hub does for a plain
(non-redirected) file: `X-Repo-Commit`, `ETag` (sha256 of the content for LFS-sized files,
the git blob sha1 for small ones), `Content-Length`, and HTTP range requests (206). Knobs
for the failure cases: `cut_after` ends the first GET body of each file after that many
bytes (a dropped connection), `corrupt` serves other bytes than the checksum promises, `short` fewer than the size does,
`gated` answers 403 as a gated repository does, `delay` sleeps between 64 kB blocks.
`python tests/data/hub_standin.py FOLDER REPO [PORT]` serves FOLDER's files as REPO.
"""

from __future__ import annotations

import hashlib
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

COMMIT = "0123456789abcdef0123456789abcdef01234567"
LFS_MIN = 1024  # files this size or larger carry a sha256 ETag, as LFS files on the Hub


@dataclass
class HubStandIn:
    """The files of one dataset repo at one commit, and what the server saw."""

    repo: str
    files: dict[str, bytes]
    commit: str = COMMIT
    cut_after: int | None = None
    corrupt: set[str] = field(default_factory=set)
    short: set[str] = field(default_factory=set)  # GET sends 10 bytes less than HEAD promised
    gated: bool = False
    delay: float = 0.0
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)
    cut: set[str] = field(default_factory=set)

    def etag(self, name: str) -> str:
        data = self.files[name]
        if len(data) >= LFS_MIN:
            return hashlib.sha256(data).hexdigest()
        return hashlib.sha1(f"blob {len(data)}\0".encode() + data, usedforsecurity=False).hexdigest()

    def start(self) -> tuple[ThreadingHTTPServer, str]:
        """Serve in a thread; returns the server and its endpoint URL."""
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server, f"http://127.0.0.1:{server.server_address[1]}"


def _handler(hub: HubStandIn) -> type[BaseHTTPRequestHandler]:
    prefix = f"/datasets/{hub.repo}/resolve/"

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:  # quiet
            pass

        def do_HEAD(self) -> None:  # noqa: N802
            self._answer(body=False)

        def do_GET(self) -> None:  # noqa: N802
            self._answer(body=True)

        def _answer(self, body: bool) -> None:
            path = unquote(self.path.split("?")[0])
            hub.requests.append((self.command, path, self.headers.get("Range")))
            if hub.gated:
                self._error(
                    403, {"X-Error-Code": "GatedRepo", "X-Error-Message": "Access to this repo is gated"}
                )
                return
            revision, _, name = path.removeprefix(prefix).partition("/")
            if not path.startswith(prefix) or revision not in ("main", hub.commit):
                self._error(404, {"X-Error-Code": "RevisionNotFound"})
                return
            if name not in hub.files:
                self._error(404, {"X-Error-Code": "EntryNotFound", "X-Repo-Commit": hub.commit})
                return
            data = hub.files[name]
            if name in hub.corrupt:
                data = bytes([data[0] ^ 0xFF]) + data[1:]
            if name in hub.short and body:
                data = data[:-10]
            start = 0
            status = 200
            if self.headers.get("Range"):
                start = int(self.headers["Range"].removeprefix("bytes=").split("-")[0])
                status = 206
            self.send_response(status)
            self.send_header("X-Repo-Commit", hub.commit)
            self.send_header("ETag", f'"{hub.etag(name)}"')
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Length", str(len(data) - start))
            if status == 206:
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            self.end_headers()
            if not body:
                return
            end = len(data)
            if hub.cut_after is not None and name not in hub.cut and start < hub.cut_after < end:
                hub.cut.add(name)
                end = hub.cut_after
            for offset in range(start, end, 65536):
                self.wfile.write(data[offset : min(end, offset + 65536)])
                self.wfile.flush()
                if hub.delay:
                    time.sleep(hub.delay)
            if end < len(data):
                self.close_connection = True

        def _error(self, status: int, headers: dict[str, str]) -> None:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler


if __name__ == "__main__":
    folder, repo = Path(sys.argv[1]), sys.argv[2]
    port = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    delay = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
    standin = HubStandIn(repo, {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()})
    standin.delay = delay
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler(standin))
    print(
        f"serving {len(standin.files)} files of {repo} at http://127.0.0.1:{server.server_address[1]}",
        flush=True,
    )
    server.serve_forever()
