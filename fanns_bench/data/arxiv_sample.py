"""The shipped real default: a compact arXiv sample in `datasets/arxiv_sample/`, expanded on use.

Shipped (tracked in git), in `datasets/arxiv_sample/`::

    vectors.f16.npy      base embeddings, float16 (exactly the float32 store values, rounded once)
    queries.f16.npy      held-out query embeddings, float16
    attributes.parquet   the 11 attributes, one row per base vector
    arxiv_ids.parquet    which arXiv record each row is (split, id)
    sample.json          counts, model, provenance, sha256 of every shipped file and of the
                         float32 expansion
    README.md            where the records come from, under which licence, how it was built

Builder `arxiv_sample` checks the hashes and writes the float32 store into the dataset
folder it is given (`datasets/arxiv_sample.built/` in `configs/dataset/arxiv_sample.yaml`):
the shipped folder itself is never overwritten. The expansion is an exact float16 -> float32
cast, so its bytes (and hash) are the same on every machine.

`python -m fanns_bench.data.arxiv_sample pack STORE OUT [--records MIX.json]` makes the
compact files from a store built by the `arxiv` builder (`--records`: how `arxiv_mix` drew
the records). `sample.json` names the model, dimension, counts and the archives
(`archives`, `summary`) for reports. The previous astro-ph default ships in
`datasets/arxiv_astroph_sample/` (builder parameter `sample: arxiv_astroph_sample`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from fanns_bench.data.arxiv_mix import archive_counts
from fanns_bench.data.arxiv_schema import ATTRIBUTE_KINDS
from fanns_bench.data.dataset import NORM_TOLERANCE, Dataset, load_dataset, write_dataset
from fanns_bench.data.file_hashes import file_hash
from fanns_bench.data.selectivity_attributes import add_selectivity_attributes, selectivity_attribute_kinds
from fanns_bench.errors import DatasetError

__all__ = [
    "ATTRIBUTE_KINDS",
    "attribute_kinds",
    "build",
    "describe",
    "expand",
    "pack",
    "read_sample_info",
    "span_problems",
]
SHIPPED_ROOT = Path(__file__).resolve().parents[2] / "datasets"
SHIPPED_DIR = SHIPPED_ROOT / "arxiv_sample"
SHIPPED_FILES = ("vectors.f16.npy", "queries.f16.npy", "attributes.parquet", "arxiv_ids.parquet")
CARRIED_FIELDS = (
    "embedding_model",
    "embedding_dimension",
    "max_seq_length",
    "query_prompt_name",
    "queries_from",
    "text",
    "source",
    "selection",
    "scan",
    "embedding_device",
    "embedding_threads",
    "embedding_seconds",
    "records",
    "archives",
    "summary",
)


def build(
    path: Path,
    name: str,
    *,
    source: str | None = None,
    sample: str | None = None,
    selectivity_levels: list[float] | None = None,
    selectivity_seed: int = 0,
) -> Dataset:
    """Builder `arxiv_sample`: expand the shipped compact sample into a float32 store at `path`.
    `selectivity_levels` adds the synthetic attributes of the seed paper's selectivity study
    (`selectivity_attributes.py`) beside the 11 real ones. `sample` names another shipped
    folder under `datasets/` (`arxiv_astroph_sample`); `source` is any folder path."""
    if sample and ("/" in sample or sample.startswith(".")):
        raise DatasetError(f"sample={sample!r}: expected a folder name under {SHIPPED_ROOT}")
    shipped = Path(source) if source else SHIPPED_ROOT / sample if sample else SHIPPED_DIR
    if Path(path).resolve() == shipped.resolve():
        raise DatasetError(f"{path}: the built store must not replace the shipped sample folder")
    info = read_sample_info(shipped, verify=True)
    vectors = expand(np.load(shipped / "vectors.f16.npy"))
    queries = expand(np.load(shipped / "queries.f16.npy"))
    for label, matrix in (("vectors", vectors), ("queries", queries)):
        digest = hashlib.sha256(matrix.tobytes()).hexdigest()
        if digest != info["expanded_sha256"][label]:
            raise DatasetError(f"{shipped}: float32 expansion of {label} has an unexpected hash")
    attributes = pq.read_table(shipped / "attributes.parquet")
    added = {}
    if selectivity_levels:
        attributes = add_selectivity_attributes(attributes, selectivity_levels, selectivity_seed)
        added = {"selectivity_attributes": {"levels": list(selectivity_levels), "seed": selectivity_seed}}
    dataset = write_dataset(
        path,
        name=name,
        vectors=vectors,
        queries=queries,
        attributes=attributes,
        metric=info["metric"],
        builder="arxiv_sample",
        extra={
            **{key: info[key] for key in CARRIED_FIELDS if key in info},
            "shipped_from": str(shipped),
            "stored_as": "float16, expanded exactly to float32",
            **added,
        },
    )
    shutil.copyfile(shipped / "arxiv_ids.parquet", Path(path) / "arxiv_ids.parquet")
    return dataset


def attribute_kinds(params: dict[str, Any]) -> dict[str, str]:
    """The attribute kinds a build with `params` will have (for `fanns-bench validate`)."""
    return {**ATTRIBUTE_KINDS, **selectivity_attribute_kinds(params.get("selectivity_levels") or [])}


def read_sample_info(shipped: Path, *, verify: bool) -> dict[str, Any]:
    """`sample.json` of a shipped folder; with `verify`, every file's sha256 is checked."""
    info_path = shipped / "sample.json"
    if not info_path.is_file():
        raise DatasetError(f"{info_path}: missing; is {shipped} a shipped arXiv sample?")
    info = json.loads(info_path.read_text())
    for file in SHIPPED_FILES:
        if not (shipped / file).is_file():
            raise DatasetError(f"{shipped / file}: missing (sample.json lists it)")
        if verify and file_hash(shipped / file) != info["hashes"][file]:
            raise DatasetError(f"{shipped / file}: content hash differs from sample.json")
    return info


def expand(matrix16: np.ndarray) -> np.ndarray:
    """float16 -> float32, exact."""
    if matrix16.dtype != np.float16 or matrix16.ndim != 2:
        raise DatasetError(f"expected a 2-d float16 array, found {matrix16.ndim}-d {matrix16.dtype}")
    return matrix16.astype(np.float32)


def describe(attributes: pa.Table, model: str, dimension: int, queries: int) -> dict[str, Any]:
    """`archives` (base items holding each archive, largest first) and a one-line `summary`
    naming items, model, dimension and archives, for reports and run summaries."""
    archives = archive_counts(attributes.column("main_categories").to_pylist())
    items = attributes.num_rows
    top = ", ".join(f"{name} {count / items:.0%}" for name, count in list(archives.items())[:5])
    summary = (
        f"{items:,} arXiv abstracts + {queries:,} held-out queries, {model.split('/')[-1]} "
        f"{dimension}-d; {len(archives)} archives ({top} ...)"
    )
    return {"archives": archives, "summary": summary}


def span_problems(
    archives: dict[str, int], items: int, min_archives: int = 8, max_share: float = 0.4
) -> list[str]:
    """Why a sample does not span the archives like the full snapshot: fewer than
    `min_archives` archives, or one archive on more than `max_share` of the `items`."""
    problems = []
    if len(archives) < min_archives:
        problems.append(f"{len(archives)} archives; expected at least {min_archives}")
    problems += [
        f"{name} on {count / items:.1%} of the items; expected at most {max_share:.0%}"
        for name, count in archives.items()
        if count > max_share * items
    ]
    return problems


def pack(store_path: str | Path, out: str | Path, records: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write the compact shipped files (and `sample.json`) from a built `arxiv` store.
    `records`: how the source records were drawn (`arxiv_mix`'s plan), kept in `sample.json`."""
    store = load_dataset(store_path, verify_hashes=True)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    expanded = {}
    for label, matrix in (("vectors", store.vectors), ("queries", store.queries)):
        rounded = np.asarray(matrix).astype(np.float16)
        _check_norms(rounded, store.metric, label)
        np.save(out / f"{label}.f16.npy", rounded)
        expanded[label] = hashlib.sha256(expand(rounded).tobytes()).hexdigest()
    pq.write_table(store.attributes.table, out / "attributes.parquet", compression="zstd")
    pq.write_table(
        pq.read_table(Path(store_path) / "arxiv_ids.parquet"),
        out / "arxiv_ids.parquet",
        compression="zstd",
    )
    info = {
        "name": store.name,
        "metric": store.metric,
        "count": store.count,
        "query_count": int(store.queries.shape[0]),
        "dimension": store.dimension,
        **{key: store.manifest[key] for key in CARRIED_FIELDS if key in store.manifest},
        **({"records": records} if records else {}),
        **describe(
            store.attributes.table,
            store.manifest["embedding_model"],
            store.dimension,
            int(store.queries.shape[0]),
        ),
        "hashes": {file: file_hash(out / file) for file in SHIPPED_FILES},
        "expanded_sha256": expanded,
    }
    (out / "sample.json").write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")
    return info


def _check_norms(matrix: np.ndarray, metric: str, label: str) -> None:
    if metric != "ip":
        return
    norms = np.linalg.norm(matrix.astype(np.float32), axis=1)
    worst = float(np.abs(norms - 1.0).max())
    if worst > NORM_TOLERANCE / 2:
        raise DatasetError(f"{label}: float16 rounding moves a norm by {worst:.2e}; too far")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    pack_parser = sub.add_parser("pack", help="compact a built arxiv store into a shipped folder")
    pack_parser.add_argument("store", help="a store built by the 'arxiv' builder")
    pack_parser.add_argument("out", help="output folder, e.g. datasets/arxiv_sample")
    pack_parser.add_argument("--records", type=Path, help="the .mix.json written by arxiv_mix")
    args = parser.parse_args(argv)
    records = json.loads(args.records.read_text()) if args.records else None
    info = pack(args.store, args.out, records)
    print(json.dumps({key: info[key] for key in ("count", "query_count", "dimension")}))


if __name__ == "__main__":
    main()
