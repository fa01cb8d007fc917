"""Temporary names for atomic writes (write a hidden sibling, then rename it into place)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path


def temporary_sibling(path: Path, suffix: str = "") -> Path:
    """A hidden sibling of `path`, unique per process and call, so concurrent writers of the
    same file (jobs of one sweep sharing a dataset or results directory) never share it.
    `suffix`: an ending the writer insists on (numpy's `savez` appends `.npz` otherwise)."""
    path = Path(path)
    return path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp{suffix}")
