"""Worker loop run inside a method's own environment (stdlib only; fanns_bench is not there).

Usage: `python child_loop.py HANDLER_SCRIPT WORKDIR`. The handler script defines a class
`Worker(workdir)`; each request is one JSON line on stdin, `{"cmd": name, "args": {...}}`,
answered by one JSON line `{"ok": true, "result": ...}` or `{"ok": false, "error": text}`
on the protocol stream. Bulk data (vectors, labels, result ids) travels as files in
WORKDIR, named in the requests. `{"cmd": "exit"}` ends the loop.

The library's own prints go to stderr: file descriptor 1 is redirected to 2 before the
handler is loaded, and the protocol uses a duplicate of the original stdout. The worker
exits by itself when its parent process dies.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import threading
import time
import traceback


def _exit_with_parent(parent: int) -> None:
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:
            os._exit(1)


def _load_handler(script: str) -> type:
    spec = importlib.util.spec_from_file_location("fanns_worker_handler", script)
    if spec is None or spec.loader is None:
        raise SystemExit(f"worker handler {script!r} cannot be loaded")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Worker


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: child_loop.py HANDLER_SCRIPT WORKDIR", file=sys.stderr)
        return 2
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    worker = _load_handler(argv[1])(argv[2])
    protocol.write(json.dumps({"ok": True, "result": {"pid": os.getpid()}}) + "\n")
    for line in sys.stdin:
        request = json.loads(line)
        if request["cmd"] == "exit":
            protocol.write(json.dumps({"ok": True, "result": None}) + "\n")
            return 0
        try:
            if request["cmd"].startswith("_"):
                raise AttributeError(f"worker command {request['cmd']!r} is private")
            method = getattr(worker, request["cmd"])
            reply = {"ok": True, "result": method(**request.get("args", {}))}
        except Exception:
            reply = {"ok": False, "error": traceback.format_exc(limit=8)}
        protocol.write(json.dumps(reply) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
