"""On-disk size of an engine's working directory."""

from __future__ import annotations

import os
from pathlib import Path


def directory_bytes(directory: Path | None) -> int:
    """Bytes allocated to every file under `directory` (disk blocks, not apparent size); 0 for None."""
    if directory is None:
        return 0
    return sum(
        os.stat(Path(folder) / name).st_blocks * 512
        for folder, _, names in os.walk(directory)
        for name in names
    )
