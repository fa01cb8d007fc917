"""Content hashes of a dataset's files, checked at every load and cached by file identity.

Hashing a 1M x 384 float32 dataset (1.5 GB) takes seconds, and every worker process loads
the dataset again, so each file's sha256 is cached in `<dataset>/.file-hashes.json` under
its identity `(st_dev, st_ino, st_size, st_mtime_ns, st_ctime_ns)` and recomputed whenever
the identity differs. Why an edit always changes the identity:

- Writing to a file (in place, any byte, even keeping the size) sets both its mtime and its
  ctime to the current time (POSIX `write`); a program can set the mtime back (`touch -d`,
  `cp -p`, `rsync -t`), but setting it is itself an inode change that sets the ctime to the
  current time, and no system call lets a program choose the ctime.
- Replacing a file (write a new one, rename it over the old) gives it another inode.
- Copying or moving the dataset to another file system gives other devices and inodes.

So a stale cached hash needs the clock set back to the exact nanosecond of the cached
ctime, which is not an edit but an attack on the host. Where the cache file cannot be
written (a read-only dataset), every load hashes the files again.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from fanns_bench.atomic_files import temporary_sibling

CACHE_FILE = ".file-hashes.json"
CHUNK_BYTES = 1 << 22


def file_hash(path: Path, chunk_bytes: int = CHUNK_BYTES) -> str:
    """sha256 of a file's bytes, read in chunks (never the whole file in memory)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()


def identity(path: Path) -> list[int]:
    """What an edit of `path` always changes (see the module docstring)."""
    stat = path.stat()
    return [stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns]


def current_hashes(directory: Path, files: tuple[str, ...]) -> dict[str, str]:
    """sha256 of each of `files` in `directory` as they are now, from the cache where a
    file's identity is unchanged since it was hashed, else hashed again (and cached)."""
    directory = Path(directory)
    cache = _read_cache(directory / CACHE_FILE)
    hashes, changed = {}, False
    for name in files:
        path = directory / name
        now = identity(path)
        entry = cache.get(name)
        if isinstance(entry, dict) and entry.get("identity") == now and isinstance(entry.get("sha256"), str):
            hashes[name] = entry["sha256"]
            continue
        hashes[name] = file_hash(path)
        if identity(path) == now:  # not written to while it was read
            cache[name] = {"identity": now, "sha256": hashes[name]}
            changed = True
    if changed:
        _write_cache(directory / CACHE_FILE, cache)
    return hashes


def _read_cache(path: Path) -> dict:
    try:
        cache = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return cache if isinstance(cache, dict) else {}


def _write_cache(path: Path, cache: dict) -> None:
    """Write the cache atomically; a dataset we cannot write to just is not cached."""
    tmp = temporary_sibling(path)
    try:
        tmp.write_text(json.dumps(cache, indent=1, sort_keys=True))
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
