"""Read a user's table: a Hugging Face dataset (Hub name or `save_to_disk` folder), Parquet or CSV.

Every source becomes one Arrow table per split. Local Parquet and CSV files are read with
pyarrow (only the columns asked for); Hugging Face datasets with `datasets`
(`load_from_disk` for a local folder, `load_dataset` for a Hub name, which downloads into
the `datasets` cache: the only case where building a table touches the network).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa

from fanns_bench.errors import ConfigError, DatasetError

FILE_SUFFIXES = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".tsv": "csv"}


def source_kind(source: str) -> str:
    """`parquet`, `csv`, `disk` (a `save_to_disk` folder) or `hub` (a Hub dataset name)."""
    path = Path(source).expanduser()
    if path.is_dir():
        return "disk"
    if path.suffix.lower() in FILE_SUFFIXES:
        if not path.is_file():
            raise DatasetError(f"table source {source}: file not found")
        return FILE_SUFFIXES[path.suffix.lower()]
    if path.exists():
        raise DatasetError(
            f"table source {source}: expected a .parquet or .csv file, a `save_to_disk` folder or a Hub name"
        )
    if source.count("/") > 1 or source.startswith((".", "/", "~")):
        raise DatasetError(f"table source {source}: no such file or folder")
    return "hub"


def read_split(
    source: str,
    split: str | None,
    *,
    config_name: str | None = None,
    revision: str | None = None,
) -> pa.Table:
    """One split of `source` as an Arrow table (Parquet and CSV have one, unnamed split)."""
    kind = source_kind(source)
    if kind in ("parquet", "csv"):
        if split is not None:
            raise ConfigError(f"table source {source}: a {kind} file has no splits (split={split!r})")
        return _read_file(Path(source).expanduser(), kind)
    loaded = _load_hf(source, kind, split, config_name, revision)
    return loaded.with_format("arrow")[:]


def _read_file(path: Path, kind: str) -> pa.Table:
    try:
        if kind == "parquet":
            import pyarrow.parquet as pq

            return pq.read_table(path)
        import pyarrow.csv as csv

        delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
        return csv.read_csv(path, parse_options=csv.ParseOptions(delimiter=delimiter))
    except (pa.ArrowInvalid, OSError) as error:
        raise DatasetError(f"{path}: not a readable {kind} file ({error})") from None


def _load_hf(source: str, kind: str, split: str | None, config_name: str | None, revision: str | None) -> Any:
    try:
        import datasets
    except ImportError as error:  # a base dependency; only a broken install lacks it
        raise ConfigError(f"reading a Hugging Face dataset needs `datasets` ({error})") from None
    try:
        if kind == "disk":
            loaded = datasets.load_from_disk(str(Path(source).expanduser()))
        else:
            loaded = datasets.load_dataset(source, config_name, revision=revision)
    except (FileNotFoundError, ValueError, OSError, datasets.exceptions.DatasetNotFoundError) as error:
        raise DatasetError(f"table source {source}: cannot load it with `datasets` ({error})") from None
    if isinstance(loaded, datasets.Dataset):
        if split is not None:
            raise ConfigError(f"table source {source}: one dataset without splits (split={split!r})")
        return loaded
    splits = list(loaded)
    if split is None:
        if len(splits) != 1 and "train" not in splits:
            raise ConfigError(f"table source {source}: choose a split (split: one of {splits})")
        split = "train" if "train" in splits else splits[0]
    if split not in loaded:
        raise ConfigError(f"table source {source}: no split {split!r}; it has {splits}")
    return loaded[split]
