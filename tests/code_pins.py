"""Digests of source files, for the tests that pin the code a result row depends on
(tests/runner/test_methodology.py, tests/methods/test_method_revisions.py): a pinned digest that
no longer matches fails until someone decides whether rows now measure differently."""

from __future__ import annotations

import hashlib
from pathlib import Path

import fanns_bench
from fanns_bench.methods.provenance import files_digest

ROOT = Path(fanns_bench.__file__).parent.parent
CODE_SUFFIXES = (".py", ".cpp", ".h", ".hpp")


def _is_code(path: Path) -> bool:
    return path.is_file() and (path.suffix in CODE_SUFFIXES or path.name == "CMakeLists.txt")


def code_files(entries: tuple[str, ...], root: Path = ROOT) -> list[Path]:
    """The code files under `entries` (files, or folders searched recursively; a missing
    entry gives nothing), sorted by path."""
    found: list[Path] = []
    for entry in entries:
        path = root / entry
        found.extend(f for f in (path.rglob("*") if path.is_dir() else [path]) if _is_code(f))
    return sorted(found, key=lambda f: f.relative_to(root).as_posix())


def digests(entries: tuple[str, ...], root: Path = ROOT) -> dict[str, str]:
    """Path (relative to `root`) -> short sha256 of each code file under `entries`."""
    return {
        f.relative_to(root).as_posix(): hashlib.sha256(f.read_bytes()).hexdigest()[:16]
        for f in code_files(entries, root)
    }


def combined(entries: tuple[str, ...], root: Path = ROOT) -> str:
    """One short digest over the code files under `entries` (names and contents), as
    `provenance.code_hash` digests a plugin's package."""
    return files_digest(code_files(entries, root), root)


def changed(current: dict[str, str], pinned: dict[str, str]) -> list[str]:
    """The keys whose digest differs, or that are new or gone, sorted."""
    return sorted(key for key in current.keys() | pinned.keys() if current.get(key) != pinned.get(key))


def pins(current: dict[str, str]) -> str:
    """`PINNED = {...}` as it should now read, to paste into the test."""
    lines = "".join(f'    "{key}": "{value}",\n' for key, value in sorted(current.items()))
    return "PINNED = {\n" + lines + "}"
