"""`fanns-bench datasets fetch`: download a dataset's published files from the Hugging Face Hub.

The dataset config names the files' home (`fetch: {repo, revision, files, optional}`) and
where they go (`params.source`). The only code of fanns-bench that touches the network, and
only when the user runs it. With `huggingface_hub`:

1. the revision is resolved to one commit (the first file's metadata), and every file is
   read at that commit: size and checksum (the LFS sha256, or the git blob sha1 of a small
   file) from the Hub's file metadata (`get_hf_file_metadata`, a HEAD request);
2. the disk space still needed (the rest of the download, plus the converted store) is said
   before anything is written, and the fetch is refused when it is not free;
3. each file is streamed into `<file>.incomplete` (`http_get`, with the Hub's progress bar);
   an interrupted fetch resumes there with an HTTP range request; the finished file's size
   and checksum are checked before it is renamed into place (a mismatch removes it and
   stops); `fetch.json` beside the files records what was verified, at which commit.

`HF_ENDPOINT` (or `endpoint`) points it at a mirror or a local stand-in; `HF_TOKEN` or
`hf auth login` gives access to a gated repository.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from fanns_bench.data.dataset import write_json_atomic
from fanns_bench.errors import ConfigError, DatasetError

STATE_FILE = "fetch.json"
LOCK_FILE = ".fetch.lock"
PARTIAL_SUFFIX = ".incomplete"
HASH_BLOCK = 8 << 20


@dataclass(frozen=True)
class RemoteFile:
    """One file at a pinned commit: its size, checksum and where to download it."""

    name: str
    size: int
    checksum: str  # "sha256:<hex>" or "git-sha1:<hex>"
    url: str
    commit: str


@dataclass(frozen=True)
class FetchSpec:
    """The `fetch:` block of a dataset config."""

    repo: str
    revision: str
    files: tuple[str, ...]
    optional: tuple[str, ...] = ()
    repo_type: str = "dataset"

    @classmethod
    def from_config(cls, name: str, data: dict[str, Any] | None) -> FetchSpec:
        if not data or not data.get("repo") or not data.get("files"):
            raise ConfigError(
                f"dataset {name!r} has nothing to fetch (its config lacks fetch: {{repo, files}}); "
                "fetchable: arxiv_published_small, arxiv_published_medium, arxiv_published_large"
            )
        return cls(
            str(data["repo"]),
            str(data.get("revision") or "main"),
            tuple(data["files"]),
            tuple(data.get("optional") or ()),
            str(data.get("repo_type") or "dataset"),
        )


def fetch(
    spec: FetchSpec,
    target: Path,
    *,
    conversion_bytes: Callable[[dict[str, int]], int] = lambda sizes: 0,
    also_needed_at: Path | None = None,
    endpoint: str | None = None,
    say: Callable[[str], None] = print,
) -> list[RemoteFile]:
    """Download `spec`'s files into `target` (resuming, verified); returns what is there.

    `conversion_bytes(sizes)` is the extra disk the conversion after the download needs (on
    `also_needed_at`'s file system), counted in the space check.
    """
    from huggingface_hub import constants

    if constants.is_offline_mode():
        raise DatasetError("HF_HUB_OFFLINE is set: fetching needs the network (unset it for this command)")
    endpoint = (endpoint or os.environ.get("HF_ENDPOINT") or constants.ENDPOINT).rstrip("/")
    target = Path(target)
    files = _remote_files(spec, endpoint)
    commit = files[0].commit
    state = _read_state(target)
    if state.get("commit") not in (None, commit):
        say(f"{spec.repo}: the files on disk are from commit {state['commit']}; fetching {commit} afresh")
        state = {"commit": commit, "verified": {}}
        for stale in target.glob("*" + PARTIAL_SUFFIX):  # partial files of the other commit
            stale.unlink()
    state.update(repo=spec.repo, revision=spec.revision, commit=commit, endpoint=endpoint)
    state.setdefault("verified", {})
    todo = [f for f in files if not _verified(target, f, state)]
    _check_space(spec, files, todo, target, conversion_bytes, also_needed_at, say)
    target.mkdir(parents=True, exist_ok=True)
    with _only_fetch(target):
        for remote in todo:
            _download(remote, target, endpoint, say)
            state["verified"][remote.name] = {"size": remote.size, "checksum": remote.checksum}
            write_json_atomic(target / STATE_FILE, state)
        write_json_atomic(target / STATE_FILE, state)
    say(f"{spec.repo}@{commit[:12]}: {len(files)} files verified in {target} ({len(todo)} downloaded now)")
    return files


@contextmanager
def _only_fetch(target: Path) -> Iterator[None]:
    """Hold `target`'s lock: two fetches appending to one `.incomplete` file would corrupt it."""
    from filelock import FileLock, Timeout

    lock = FileLock(target / LOCK_FILE)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise DatasetError(
            f"{target}: another fetch is writing there; wait for it to end (or stop it)"
        ) from None
    try:
        yield
    finally:
        lock.release()


def _remote_files(spec: FetchSpec, endpoint: str) -> list[RemoteFile]:
    """Each file's metadata, all at the commit the first file resolves `spec.revision` to."""
    from huggingface_hub import get_hf_file_metadata, hf_hub_url
    from huggingface_hub.errors import RemoteEntryNotFoundError

    files: list[RemoteFile] = []
    revision = spec.revision
    for name in (*spec.files, *spec.optional):
        url = hf_hub_url(spec.repo, name, repo_type=spec.repo_type, revision=revision, endpoint=endpoint)
        try:
            metadata = _hub_call(
                spec.repo, revision, lambda url=url: get_hf_file_metadata(url, endpoint=endpoint)
            )
        except RemoteEntryNotFoundError:
            if name in spec.optional:
                continue
            raise DatasetError(f"{spec.repo}@{revision}: no file {name!r} on the Hub") from None
        if not metadata.commit_hash or metadata.size is None:
            raise DatasetError(f"{url}: the server sent no commit or size; is {endpoint} a Hugging Face Hub?")
        revision = metadata.commit_hash  # every later file at the same commit
        pinned = hf_hub_url(spec.repo, name, repo_type=spec.repo_type, revision=revision, endpoint=endpoint)
        location = pinned if metadata.location == url else metadata.location  # CDN links are by content
        files.append(RemoteFile(name, metadata.size, _checksum(url, metadata.etag), location, revision))
    return files


def _hub_call(repo: str, revision: str, call: Callable[[], Any]) -> Any:
    """`call()`, with the Hub's errors (gated, missing, offline) as one line each."""
    import httpx2
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        RemoteEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    page = f"https://huggingface.co/datasets/{repo}"
    try:
        return call()
    except GatedRepoError:
        raise DatasetError(
            f"{repo} is gated: accept its conditions at {page}, then log in (`hf auth login`) or set HF_TOKEN"
        ) from None
    except RevisionNotFoundError:
        raise DatasetError(f"{repo}: no revision {revision!r} (fetch.revision in the config)") from None
    except RemoteEntryNotFoundError:
        raise
    except RepositoryNotFoundError:
        raise DatasetError(f"{repo}: no such repository, or it needs a login (HF_TOKEN)") from None
    except HfHubHTTPError as error:
        raise DatasetError(f"{repo}: the Hub answered {error.response.status_code}: {error}") from None
    except httpx2.HTTPError as error:
        raise DatasetError(f"{repo}: cannot reach the Hub ({type(error).__name__}: {error})") from None
    except OSError as error:
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise DatasetError(f"{repo}: the download failed ({first}); run the fetch again to resume") from None


def _checksum(url: str, etag: str | None) -> str:
    """The Hub's ETag of a file: the sha256 of an LFS file's content, or a git blob sha1."""
    etag = (etag or "").strip('"').removeprefix("W/").strip('"')
    if len(etag) == 64 and all(c in "0123456789abcdef" for c in etag):
        return f"sha256:{etag}"
    if len(etag) == 40 and all(c in "0123456789abcdef" for c in etag):
        return f"git-sha1:{etag}"
    raise DatasetError(f"{url}: the server gave no checksum (ETag {etag!r}); refusing an unverifiable file")


def file_checksum(path: Path, kind: str, progress: bool = False) -> str:
    """`kind` ('sha256' or 'git-sha1') of a file, read in blocks."""
    size = path.stat().st_size
    digest = hashlib.sha256() if kind == "sha256" else hashlib.sha1(usedforsecurity=False)
    if kind == "git-sha1":
        digest.update(f"blob {size}\0".encode())
    bar = _bar(progress, size, f"checking {path.name}")
    with open(path, "rb") as handle:
        while block := handle.read(HASH_BLOCK):
            digest.update(block)
            if bar is not None:
                bar.update(len(block))
    if bar is not None:
        bar.close()
    return f"{kind}:{digest.hexdigest()}"


def _verified(target: Path, remote: RemoteFile, state: dict[str, Any]) -> bool:
    """Already downloaded and checked at this commit (and still of the right size)."""
    path = target / remote.name
    recorded = state["verified"].get(remote.name)
    return (
        path.is_file()
        and recorded == {"size": remote.size, "checksum": remote.checksum}
        and path.stat().st_size == remote.size
    )


def _check_space(
    spec: FetchSpec,
    files: list[RemoteFile],
    todo: list[RemoteFile],
    target: Path,
    conversion_bytes: Callable[[dict[str, int]], int],
    also_needed_at: Path | None,
    say: Callable[[str], None],
) -> None:
    """Say the disk space the fetch still needs; refuse when it is not free."""
    download = sum(f.size - _partial_size(target, f) for f in todo)
    convert = conversion_bytes({f.name: f.size for f in files})
    needs: dict[Path, int] = {}
    here = _existing(target)
    needs[here] = download
    there = _existing(also_needed_at or target)
    same = os.stat(here).st_dev == os.stat(there).st_dev
    needs[here if same else there] = needs.get(here if same else there, 0) + convert
    total = sum(f.size for f in files)
    say(
        f"{spec.repo}@{spec.revision} (commit {files[0].commit[:12]}): {len(files)} files, "
        f"{_gb(total)} in all; still to download {_gb(download)} into {target}"
        + (f", then about {_gb(convert)} for the converted store" if convert else "")
    )
    for folder, need in needs.items():
        free = shutil.disk_usage(folder).free
        if need > free:
            raise DatasetError(
                f"not enough disk space: {_gb(need)} needed on the file system of {folder}, {_gb(free)} free"
            )


def _download(remote: RemoteFile, target: Path, endpoint: str, say: Callable[[str], None]) -> None:
    """Stream `remote` into `<name>.incomplete` (resuming), check it, rename it into place."""
    from huggingface_hub.file_download import http_get
    from huggingface_hub.utils import build_hf_headers
    from tqdm import tqdm  # a plain bar on stderr, shown in logs too (as the embedding's)

    partial = target / (remote.name + PARTIAL_SUFFIX)
    done = _partial_size(target, remote)
    if done > remote.size:
        partial.unlink()
        done = 0
    if done:
        say(f"{remote.name}: resuming at {_gb(done)} of {_gb(remote.size)}")
    headers = build_hf_headers()
    if urlparse(remote.url).netloc != urlparse(endpoint).netloc:
        headers.pop("authorization", None)  # a CDN link is signed; never send the token there
    with open(partial, "ab") as handle:
        _hub_call(
            remote.name,
            remote.commit,
            lambda: http_get(
                remote.url, handle, resume_size=done, headers=headers, expected_size=remote.size,
                displayed_filename=remote.name, tqdm_class=tqdm,
            ),
        )  # fmt: skip
    kind = remote.checksum.partition(":")[0]
    actual = file_checksum(partial, kind, progress=remote.size > 256 << 20)
    if partial.stat().st_size != remote.size or actual != remote.checksum:
        partial.unlink()
        raise DatasetError(
            f"{target / remote.name}: checksum {actual} differs from the Hub's {remote.checksum} "
            f"(size {remote.size}); the download was removed, run the fetch again"
        )
    os.replace(partial, target / remote.name)


def _partial_size(target: Path, remote: RemoteFile) -> int:
    partial = target / (remote.name + PARTIAL_SUFFIX)
    return partial.stat().st_size if partial.is_file() else 0


def _read_state(target: Path) -> dict[str, Any]:
    path = target / STATE_FILE
    try:
        return json.loads(path.read_text()) if path.is_file() else {}
    except (OSError, ValueError):
        return {}


def _existing(path: Path) -> Path:
    """`path`, or its nearest existing parent (where the space check looks)."""
    path = Path(path).resolve()
    while not path.exists():
        path = path.parent
    return path


def _gb(size: int) -> str:
    return f"{size / 1e9:.2f} GB" if size >= 1e8 else f"{size / 1e6:.1f} MB"


def _bar(enabled: bool, total: int, label: str) -> Any:
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="B", unit_scale=True, desc=label, file=sys.stderr)
