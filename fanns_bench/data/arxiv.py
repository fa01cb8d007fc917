"""Build an arXiv abstract-embedding dataset with the paper's 11 attributes from a metadata dump.

Two streaming passes over the dump, then embedding:

1. *select*: every usable record gets a key, a 64-bit hash of `seed:id`. The
   `query_count` smallest keys are the held-out queries, the next `count` the base items.
   Reproducible, independent of file order, and nested: a larger `count` with the same seed
   keeps the same queries and a superset of the base items.
2. *extract*: the selected records, in dump order, go to `base.parquet` / `queries.parquet`
   in a work folder (id, abstract text, 11 attributes), written in batches.
3. *embed*: abstracts (or user-supplied query texts) are embedded chunk by chunk into
   memory-mapped `.npy` files, resumably; then the store is written.

The work folder (`<path>.work/` unless given) survives an interruption, so a rerun skips
the finished steps and continues the embedding where it stopped.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from fanns_bench.data.arxiv_records import ArxivRecord, ScanReport, iter_records
from fanns_bench.data.arxiv_schema import (
    ATTRIBUTE_KEYS,
    ATTRIBUTE_KINDS,
    ATTRIBUTE_SCHEMA,
    write_attributes_jsonl,
)
from fanns_bench.data.dataset import Dataset, write_dataset, write_json_atomic
from fanns_bench.data.file_hashes import file_hash
from fanns_bench.errors import ConfigError, DatasetError

WRITE_BATCH_ROWS = 8192
__all__ = ["ATTRIBUTE_KINDS", "build", "prepare", "select"]
RECORD_SCHEMA = pa.schema([("id", pa.string()), ("text", pa.string()), *ATTRIBUTE_SCHEMA])


@dataclass
class Selection:
    """The ids chosen from a dump: held-out queries and base items, with the scan report."""

    query_ids: list[str]
    base_ids: list[str]
    report: ScanReport


def record_key(seed: int, arxiv_id: str) -> int:
    """The selection key of a record: 64 bits of blake2b over `seed:id`."""
    digest = hashlib.blake2b(f"{seed}:{arxiv_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def select(
    source: str | Path,
    *,
    count: int | None,
    query_count: int,
    seed: int = 0,
    on_error: str = "strict",
) -> Selection:
    """Pass 1: choose `query_count` held-out and `count` base ids (`None`: all the rest)."""
    if query_count < 0 or (count is not None and count < 1):
        raise ConfigError(f"count={count} must be >= 1 (or null) and query_count >= 0")
    report = ScanReport()
    records = iter_records(source, on_error=on_error, report=report)
    keyed = ((record_key(seed, r.arxiv_id), r.arxiv_id) for r in records)
    if count is None:
        chosen = sorted(keyed)
    else:
        chosen = heapq.nsmallest(count + query_count, keyed)
    if len(chosen) <= query_count:
        raise DatasetError(
            f"{source}: only {len(chosen)} usable records; need more than "
            f"query_count={query_count} (report: {report.as_dict()})"
        )
    ids = [arxiv_id for _, arxiv_id in chosen]
    return Selection(ids[:query_count], ids[query_count:], report)


def extract(
    source: str | Path, selection: Selection, work: Path, *, on_error: str = "strict"
) -> dict[str, int]:
    """Pass 2: write the selected records, in dump order, to `base.parquet`/`queries.parquet`."""
    split_of = {i: "queries" for i in selection.query_ids}
    split_of.update({i: "base" for i in selection.base_ids})
    writers = {split: _RecordWriter(work / f"{split}.parquet") for split in ("base", "queries")}
    try:
        for record in iter_records(source, on_error=on_error):
            split = split_of.get(record.arxiv_id)
            if split is not None:
                writers[split].add(record)
    finally:
        counts = {split: writer.close() for split, writer in writers.items()}
    expected = {"base": len(selection.base_ids), "queries": len(selection.query_ids)}
    if counts != expected:
        raise DatasetError(f"{source}: changed between passes (wrote {counts}, chose {expected})")
    return counts


def prepare(
    source: str | Path,
    work: Path,
    *,
    count: int | None,
    query_count: int,
    seed: int,
    on_error: str,
) -> dict[str, Any]:
    """Selection and extraction into `work`, skipped when `work` already holds this job."""
    job = {
        "source": str(Path(source).resolve()),
        "source_bytes": Path(source).stat().st_size,
        "count": count,
        "query_count": query_count,
        "seed": seed,
        "on_error": on_error,
    }
    state_path = work / "selection.json"
    if state_path.is_file():
        state = json.loads(state_path.read_text())
        if state.get("job") == job:
            return state
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    selection = select(source, count=count, query_count=query_count, seed=seed, on_error=on_error)
    counts = extract(source, selection, work, on_error=on_error)
    state = {"job": job, "counts": counts, "scan": selection.report.as_dict()}
    write_json_atomic(state_path, state)
    return state


def build(
    path: Path,
    name: str,
    *,
    source: str,
    count: int | None = 10_000,
    query_count: int = 1_000,
    seed: int = 0,
    on_error: str = "skip",
    model: str | None = None,
    device: str = "auto",
    batch_size: int = 64,
    chunk_size: int = 1024,
    max_seq_length: int | None = None,
    trust_remote_code: bool = False,
    truncate_dim: int | None = None,
    expected_dimension: int | None = None,
    query_prompt_name: str | None = None,
    query_texts: str | None = None,
    metric: str = "ip",
    work_dir: str | None = None,
    keep_work: bool = False,
    progress: bool = True,
    attributes_jsonl: bool = False,
) -> Dataset:
    """Builder `arxiv`: dump -> selected records -> embeddings -> dataset store at `path`.

    Queries are the held-out abstracts, or the lines of `query_texts` when given (then the
    held-out records are still selected, so base items never depend on that choice).
    `attributes_jsonl` also writes `database_attributes.jsonl` in the published form.
    """
    from fanns_bench.data.embedding import EmbeddingSettings, ParquetChunks, embed_base_and_queries

    if query_count < 1 and not query_texts:
        raise ConfigError(f"dataset {name!r}: query_count must be >= 1 (or give query_texts)")

    path = Path(path)
    work = Path(work_dir) if work_dir else path.with_name(path.name + ".work")
    state = prepare(source, work, count=count, query_count=query_count, seed=seed, on_error=on_error)
    settings = EmbeddingSettings(
        model, device, batch_size, chunk_size, max_seq_length, trust_remote_code,
        truncate_dim, expected_dimension, query_prompt_name, progress,
    )  # fmt: skip
    base_texts = ParquetChunks(work / "base.parquet")
    vectors, queries, embedded = embed_base_and_queries(
        base_texts, _query_source(work, query_texts), work, settings
    )
    attributes = pq.read_table(work / "base.parquet", columns=list(ATTRIBUTE_KEYS))
    extra = {
        **embedded,
        "source": {"file": Path(source).name, "sha256": file_hash(Path(source))},
        "selection": {**state["job"], "source": Path(source).name, "counts": state["counts"]},
        "scan": state["scan"],
        "queries_from": "query_texts" if query_texts else "held-out abstracts",
        "text": "abstract with whitespace collapsed",
    }
    dataset = write_dataset(
        path,
        name=name,
        vectors=vectors,
        queries=queries,
        attributes=attributes,
        metric=metric,
        builder="arxiv",
        extra=extra,
    )
    _write_ids(path, work)
    if attributes_jsonl:
        write_attributes_jsonl(attributes, path / "database_attributes.jsonl")
    if not keep_work:
        shutil.rmtree(work, ignore_errors=True)
    return dataset


def _query_source(work: Path, query_texts: str | None) -> Any:
    from fanns_bench.data.embedding import ListChunks, ParquetChunks, read_text_lines

    if query_texts:
        return ListChunks(read_text_lines(query_texts))
    return ParquetChunks(work / "queries.parquet")


def _write_ids(path: Path, work: Path) -> None:
    """`arxiv_ids.parquet` beside the store: which arXiv record each base row / query is."""
    tables = []
    for split in ("base", "queries"):
        ids = pq.read_table(work / f"{split}.parquet", columns=["id"]).column("id")
        tables.append(pa.table({"split": pa.array([split] * len(ids)), "id": ids}))
    pq.write_table(pa.concat_tables(tables), path / "arxiv_ids.parquet")


class _RecordWriter:
    """Append records to a Parquet file in batches of `WRITE_BATCH_ROWS`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows: list[dict[str, Any]] = []
        self.written = 0
        self.writer = pq.ParquetWriter(path, RECORD_SCHEMA)

    def add(self, record: ArxivRecord) -> None:
        self.rows.append({"id": record.arxiv_id, "text": record.text, **record.attributes})
        if len(self.rows) >= WRITE_BATCH_ROWS:
            self._flush()

    def close(self) -> int:
        self._flush()
        self.writer.close()
        return self.written

    def _flush(self) -> None:
        if self.rows:
            self.writer.write_table(pa.Table.from_pylist(self.rows, schema=RECORD_SCHEMA))
            self.written += len(self.rows)
            self.rows = []
