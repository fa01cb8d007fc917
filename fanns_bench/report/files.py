"""Atomic output files: written to a temporary sibling, then renamed into place."""

from __future__ import annotations

import os
import re
from pathlib import Path

from matplotlib.figure import Figure

from fanns_bench.atomic_files import temporary_sibling, write_text_atomic

FIGURE_FORMATS = ("png", "pdf")


def safe_name(*parts: object) -> str:
    """A file-name stem from `parts` (anything outside [A-Za-z0-9._-] becomes '-')."""
    return "__".join(re.sub(r"[^A-Za-z0-9._-]+", "-", str(part)).strip("-") for part in parts)


def write_text(path: Path, text: str) -> Path:
    """Write `text` to `path` atomically."""
    return write_text_atomic(path, text)


def save_figure(figure: Figure, out_dir: Path, stem: str) -> list[Path]:
    """Save `figure` as `<stem>.png` and `<stem>.pdf` in `out_dir`, atomically."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in FIGURE_FORMATS:
        path = out_dir / f"{stem}.{fmt}"
        tmp = temporary_sibling(path)
        figure.savefig(tmp, format=fmt, dpi=150, bbox_inches="tight")
        os.replace(tmp, path)
        paths.append(path)
    return paths
