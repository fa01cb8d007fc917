"""Builder `table`: your own data (a Hugging Face dataset, a Parquet or a CSV file) as a dataset.

One column gives the vectors: `text_column` is embedded with the configured
sentence-transformers model (chunked and resumable, as the arXiv builder does:
`embedding.embed_base_and_queries`), or `vector_column` is used as it is (dimension, NaN
and, for metric `ip`, unit norm checked). `attributes` (default: every other column of a
supported type) become typed attribute columns, their kinds inferred from the column type
or declared in `kinds` (`table_columns.py`). Queries are `query_split` of a Hugging Face
dataset, else `query_count` rows held out by a seeded draw; `count` limits the base items
(null: all the rest; a larger count keeps the same queries and a superset of items).
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from fanns_bench.data.dataset import Dataset, write_dataset
from fanns_bench.data.table_columns import (
    attribute_column,
    require_columns,
    supported,
    text_list,
    vector_matrix,
)
from fanns_bench.data.table_source import read_split, source_kind
from fanns_bench.errors import ConfigError
from fanns_bench.filters.evaluate import attribute_kind

log = logging.getLogger(__name__)
EMBEDDING_KEYS = (
    "model",
    "device",
    "batch_size",
    "chunk_size",
    "max_seq_length",
    "trust_remote_code",
    "truncate_dim",
    "expected_dimension",
    "query_prompt_name",
    "progress",
)


def build(
    path: Path,
    name: str,
    *,
    source: str,
    text_column: str | None = None,
    vector_column: str | None = None,
    attributes: list[str] | None = None,
    kinds: dict[str, str] | None = None,
    list_separator: str | None = None,
    split: str | None = None,
    query_split: str | None = None,
    query_count: int = 1000,
    count: int | None = None,
    seed: int = 0,
    metric: str = "ip",
    normalize: bool = False,
    dimension: int | None = None,
    config_name: str | None = None,
    revision: str | None = None,
    work_dir: str | None = None,
    keep_work: bool = False,
    **embedding: Any,
) -> Dataset:
    """Read `source`, choose base and query rows, type the attributes, embed or take the
    vectors, and write the store at `path`."""
    unknown = set(embedding) - set(EMBEDDING_KEYS)
    if unknown:
        raise ConfigError(f"dataset {name!r}: unknown table parameter(s) {sorted(unknown)}")
    if (text_column is None) == (vector_column is None):
        raise ConfigError(f"dataset {name!r}: give exactly one of text_column and vector_column")
    where = f"dataset {name!r} ({source})"
    column = text_column or vector_column
    table = read_split(source, split, config_name=config_name, revision=revision)
    table = table.replace_schema_metadata(None)
    names = _attribute_names(table, column, attributes, kinds or {}, where)
    require_columns(table, [column, *names], where)
    base_rows, query_rows, queries_from = _choose_rows(
        table.num_rows, query_split, query_count, count, seed, where
    )
    query_table = table
    if query_split is not None:
        query_table = read_split(source, query_split, config_name=config_name, revision=revision)
        require_columns(query_table, [column], f"{where}, split {query_split!r}")
        query_rows = np.arange(query_table.num_rows)
    typed = {
        attr: attribute_column(table.column(attr), attr, (kinds or {}).get(attr), list_separator, where)
        for attr in names
    }
    attribute_table = pa.table({attr: array.take(pa.array(base_rows)) for attr, array in typed.items()})
    query_where = where if query_split is None else f"{where}, split {query_split!r}"
    path = Path(path)
    work = Path(work_dir) if work_dir else path.with_name(path.name + ".work")
    extra: dict[str, Any] = {
        "source": {"table": source, "kind": source_kind(source), "split": split, "revision": revision},
        "queries_from": queries_from,
        "selection": {"seed": seed, "count": len(base_rows), "query_count": len(query_rows)},
        "attribute_kinds": {attr: attribute_kind(array.type) for attr, array in typed.items()},
    }
    if text_column is not None:
        base_texts = text_list(table.column(column), column, where)
        query_texts = (
            base_texts if query_split is None else text_list(query_table.column(column), column, query_where)
        )
        vectors, queries, embedded = _embed(
            [base_texts[i] for i in base_rows], [query_texts[i] for i in query_rows], work, embedding
        )
        extra.update(embedded, text=f"column {text_column!r}, whitespace collapsed")
    else:
        vectors = vector_matrix(table.column(column), column, where, dimension, metric, normalize)
        queries = vector_matrix(
            query_table.column(column), column, query_where, vectors.shape[1], metric, normalize
        )
        vectors, queries = vectors[base_rows], queries[query_rows]
        extra.update(vectors=f"column {vector_column!r}" + (", L2-normalised" if normalize else ""))
    dataset = write_dataset(
        path,
        name=name,
        vectors=vectors,
        queries=queries,
        attributes=attribute_table,
        metric=metric,
        builder="table",
        extra=extra,
        normalize=normalize,
    )
    if not keep_work:
        shutil.rmtree(work, ignore_errors=True)
    return dataset


def source_state(params: dict[str, Any]) -> dict[str, Any]:
    """Size and modification time of a local source (each file of a folder), for
    `ensure_dataset`: an edited table is rebuilt. A Hub source is identified by its revision."""
    path = Path(str(params.get("source") or "")).expanduser()
    if path.is_file():
        return {"source_state": [path.stat().st_size, path.stat().st_mtime_ns]}
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file())
        return {
            "source_state": [
                [str(p.relative_to(path)), p.stat().st_size, p.stat().st_mtime_ns] for p in files
            ]
        }
    return {}


def attribute_kinds(params: dict[str, Any]) -> dict[str, str] | None:
    """Attribute kinds before a build (for `fanns-bench validate`): read from the source's
    columns when it is a local file, None (unknown until built) otherwise."""
    source = params.get("source")
    try:
        if not source or source_kind(str(source)) not in ("parquet", "csv"):
            return None
        import pyarrow.parquet as pq

        if source_kind(str(source)) == "parquet":
            schema = pq.read_schema(source)
        else:
            schema = read_split(str(source), None).schema
    except Exception:  # noqa: BLE001 - validate reports the missing file itself
        return None
    column = params.get("text_column") or params.get("vector_column")
    declared = params.get("kinds") or {}
    wanted = params.get("attributes") or [f.name for f in schema if f.name != column and supported(f.type)]
    kinds = {}
    for field in schema:
        if field.name in wanted:
            kinds[field.name] = declared.get(field.name) or attribute_kind(field.type)
    return kinds


def _attribute_names(
    table: pa.Table, column: str, attributes: list[str] | None, kinds: dict[str, str], where: str
) -> list[str]:
    if attributes is not None:
        names = list(attributes)
    else:
        names = [f.name for f in table.schema if f.name != column and (supported(f.type) or f.name in kinds)]
        skipped = [f.name for f in table.schema if f.name != column and f.name not in names]
        if skipped:
            log.warning("%s: columns of unsupported types left out of the attributes: %s", where, skipped)
    if column in names:
        raise ConfigError(f"{where}: column {column!r} cannot be both the vectors' column and an attribute")
    require_columns(table, [*names, *kinds], where)
    if not names:
        raise ConfigError(f"{where}: no attribute columns (attributes: [...])")
    return names


def _choose_rows(
    rows: int, query_split: str | None, query_count: int, count: int | None, seed: int, where: str
) -> tuple[np.ndarray, np.ndarray, str]:
    """(base rows, held-out query rows, where the queries come from); base rows in source order."""
    if count is not None and count < 1:
        raise ConfigError(f"{where}: count={count} must be >= 1 (or null: all rows)")
    if query_split is not None:
        order = np.arange(rows)
        held = 0
    else:
        if query_count < 1:
            raise ConfigError(f"{where}: query_count must be >= 1 (or give query_split)")
        order = np.random.default_rng(seed).permutation(rows)
        held = query_count
    if rows <= held:
        raise ConfigError(f"{where}: {rows} rows; need more than query_count={query_count}")
    base = np.sort(order[held : None if count is None else held + count])
    if query_split is not None:
        return base, np.empty(0, np.int64), f"split {query_split!r}"
    return base, order[:held], f"{held} rows held out (seed {seed})"


def _embed(
    base: list[str], queries: list[str], work: Path, embedding: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    from fanns_bench.data.embedding import EmbeddingSettings, ListChunks, embed_base_and_queries

    work.mkdir(parents=True, exist_ok=True)
    return embed_base_and_queries(ListChunks(base), ListChunks(queries), work, EmbeddingSettings(**embedding))
