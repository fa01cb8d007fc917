"""Which code a method's rows were measured with: its distribution's version, and for code
installed from a local folder (`pip install ./plugin`, `pip install -e .`) or given as a
`module:Class` path outside any distribution, a hash of the code itself.

A plugin under development changes without a version bump; keying its rows on the version
alone would silently reuse rows of the old code. `code_hash` covers every source, extension
and config file of the method's top-level package (or its single module file), so an edit
gives new row keys. The harness's own methods are keyed on the harness version (and the rows
record the git commit): hashing the whole harness on every edit would discard resumable work
for changes that measure nothing differently; a first-party method whose results change at the
same parameters raises its `revision` instead (tests/methods/test_method_revisions.py pins each
method package's code so that the decision is never skipped).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from functools import cache
from importlib.metadata import Distribution
from pathlib import Path

CODE_SUFFIXES = frozenset({".py", ".pyx", ".pxd", ".so", ".pyd", ".yaml", ".yml", ".json", ".toml"})


def installed_from_local_code(dist: Distribution) -> bool:
    """Whether pip installed `dist` from a local folder, editable or not (PEP 610
    `direct_url.json` with `dir_info`); a version then does not pin its code."""
    try:
        text = dist.read_text("direct_url.json")
        return bool(text) and "dir_info" in json.loads(text)
    except (OSError, ValueError):
        return False


@cache
def code_hash(module: str) -> str | None:
    """Short sha256 over the code files of `module`'s top-level package (names and bytes,
    sorted by path), or of the module file itself; None when it cannot be found.

    The package is the folder holding `module`'s own file, `depth` levels up: a namespace
    package (no `__init__.py`, e.g. a `tests` folder) spans every folder of that name on
    `sys.path`, and which ones depends on the process's path, so its roots are not used.
    """
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin or not Path(spec.origin).is_file():
        return None
    origin = Path(spec.origin)
    depth = module.count(".") + (1 if origin.name == "__init__.py" else 0)
    if depth == 0:
        files, base = [origin], origin.parent
    else:
        base = origin.parents[depth - 1]
        files = sorted((f for f in base.rglob("*") if _is_code(f, base)), key=lambda f: f.as_posix())
    return files_digest(files, base)


def files_digest(files: list[Path], base: Path) -> str:
    """Short sha256 over `files` in the order given: each one's path relative to `base` and
    its bytes' sha256."""
    digest = hashlib.sha256()
    for file in files:
        digest.update(_relative(file, base).encode() + b"\0")
        digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()[:12]


def _is_code(file: Path, root: Path) -> bool:
    parts = file.relative_to(root).parts
    hidden = any(p.startswith(".") or p == "__pycache__" for p in parts)
    return not hidden and file.suffix in CODE_SUFFIXES and file.is_file()


def _relative(file: Path, base: Path) -> str:
    try:
        return file.relative_to(base).as_posix()
    except ValueError:
        return file.name


def with_code(version: str, module: str) -> str:
    """`version` with the code hash of `module` appended as a local version label."""
    digest = code_hash(module)
    return f"{version}+code.{digest}" if digest else version
