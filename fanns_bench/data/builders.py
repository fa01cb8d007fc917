"""Dataset builders by name, and `ensure_dataset`: load a dataset, building it first if needed.

A builder is a function `build(path: Path, name: str, **params) -> Dataset` that writes the
dataset with `store.write_dataset` (atomically). Targets are imported lazily so that a
builder's heavy dependencies load only when it runs.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fanns_bench.data.dataset import Dataset, load_dataset
from fanns_bench.errors import ConfigError, DatasetError

log = logging.getLogger(__name__)

BUILDERS: dict[str, str] = {
    "synthetic": "fanns_bench.data.synthetic:build",
    "existing": "fanns_bench.data.builders:load_existing",
    "arxiv": "fanns_bench.data.arxiv:build",
    "arxiv_sample": "fanns_bench.data.arxiv_sample:build",
    "published": "fanns_bench.data.published:build",
    "qdrant_format": "fanns_bench.data.importers.qdrant:build",
    "bigann_filter": "fanns_bench.data.importers.bigann:build",
    "table": "fanns_bench.data.table:build",
}


def get_builder(name: str) -> Callable[..., Dataset]:
    """The builder function registered as `name`."""
    if name not in BUILDERS:
        raise ConfigError(f"unknown dataset builder {name!r}; known builders: {sorted(BUILDERS)}")
    module, _, function = BUILDERS[name].partition(":")
    return getattr(importlib.import_module(module), function)


def params_hash(builder: str, params: dict[str, Any]) -> str:
    """Stable short hash of a builder and its parameters."""
    text = json.dumps({"builder": builder, "params": params}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def ensure_dataset(
    name: str,
    builder: str,
    params: dict[str, Any],
    datasets_dir: Path,
    rebuild: bool = False,
    directory: str | None = None,
) -> Dataset:
    """Load `datasets_dir/directory` (default: the name), (re)building it when absent,
    stale, or `rebuild` is set.

    A dataset whose manifest records other build parameters is rebuilt, so a changed
    config never silently reuses an old build.
    """
    path = Path(datasets_dir) / (directory or name)
    wanted = params_hash(builder, {**params, **_source_state(builder, params)})
    if builder == "existing":
        return _noted(load_existing(path, name, **params))
    if path.exists() and not rebuild:
        dataset = load_dataset(path)
        if dataset.manifest.get("build_hash") == wanted:
            return _noted(dataset)
    dataset = get_builder(builder)(path, name, **params)
    if dataset.manifest.get("build_hash") != wanted:
        manifest = dict(dataset.manifest, build_hash=wanted, build_params=params)
        from fanns_bench.data.dataset import write_json_atomic

        write_json_atomic(path / "manifest.json", manifest)
        dataset = load_dataset(path)
    return dataset


def dataset_of(config: dict[str, Any], datasets_dir: Path) -> Dataset:
    """`ensure_dataset` of a dataset config (Hydra's `dataset:` group: name, builder, params,
    directory)."""
    return ensure_dataset(
        config["name"],
        config["builder"],
        dict(config.get("params") or {}),
        datasets_dir,
        directory=config.get("directory"),
    )


def _source_state(builder: str, params: dict[str, Any]) -> dict[str, Any]:
    """What a builder reports about its input's current state (a `source_state(params)` in its
    module; the table builder's: the source file's size and modification time), so that an
    edited input is rebuilt like a changed parameter. Empty for the other builders."""
    if builder not in BUILDERS:
        return {}
    module = importlib.import_module(BUILDERS[builder].partition(":")[0])
    state = getattr(module, "source_state", None)
    return state(params) if state else {}


def _noted(dataset: Dataset) -> Dataset:
    """`dataset`, with a warning when its files were edited after it was built."""
    note = dataset.edit_note()
    if note:
        log.warning("%s", note)
    return dataset


def load_existing(path: Path, name: str, location: str | None = None) -> Dataset:
    """Builder for a dataset already in the store (built elsewhere, or converted by a script)."""
    target = Path(location) if location else Path(path)
    if not target.exists():
        raise DatasetError(f"dataset {name!r}: {target} does not exist; build or convert it first")
    return load_dataset(target)
