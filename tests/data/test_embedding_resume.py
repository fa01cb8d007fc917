"""Chunked, resumable embedding into a memory-mapped .npy."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fanns_bench.data.embedding import (
    EmbeddingModel,
    ListChunks,
    ParquetChunks,
    embed_to_npy,
    read_text_lines,
)
from fanns_bench.errors import ConfigError


class CountingEncoder:
    """Test double for a sentence-transformers model: a vector from each text, calls recorded."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def encode(self, texts, **_options):
        self.calls.append(list(texts))
        vectors = np.array([[len(t), sum(map(ord, t)) % 97, 1.0] for t in texts], np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _model(encoder: CountingEncoder) -> EmbeddingModel:
    return EmbeddingModel("counting", encoder, "cpu", dimension=3, max_seq_length=16)


TEXTS = [f"text number {i}" * (1 + i % 3) for i in range(10)]


def test_interrupted_run_resumes_at_the_next_chunk(tmp_path):
    encoder = CountingEncoder()
    out = tmp_path / "v.npy"
    first = embed_to_npy(TEXTS, out, _model(encoder), chunk_size=4, progress=False, stop_after_chunks=1)
    assert (first.resumed_from, first.embedded_now) == (0, 4)
    second = embed_to_npy(TEXTS, out, _model(encoder), chunk_size=4, progress=False)
    assert (second.resumed_from, second.embedded_now) == (4, 6)
    assert second.total_seconds == pytest.approx(first.seconds + second.seconds, abs=0.01)
    assert encoder.calls == [TEXTS[0:4], TEXTS[4:8], TEXTS[8:10]]
    whole = tmp_path / "whole.npy"
    embed_to_npy(TEXTS, whole, _model(CountingEncoder()), chunk_size=4, progress=False)
    assert out.read_bytes() == whole.read_bytes()


def test_finished_run_is_not_redone(tmp_path):
    out = tmp_path / "v.npy"
    embed_to_npy(TEXTS, out, _model(CountingEncoder()), chunk_size=4, progress=False)
    encoder = CountingEncoder()
    run = embed_to_npy(TEXTS, out, _model(encoder), chunk_size=4, progress=False)
    assert encoder.calls == [] and run.embedded_now == 0 and run.resumed_from == 10


def test_changed_texts_or_chunking_start_over(tmp_path):
    out = tmp_path / "v.npy"
    embed_to_npy(TEXTS, out, _model(CountingEncoder()), chunk_size=4, progress=False, stop_after_chunks=1)
    encoder = CountingEncoder()
    embed_to_npy([*TEXTS[:9], "another"], out, _model(encoder), chunk_size=4, progress=False)
    assert encoder.calls[0] == TEXTS[0:4]
    encoder = CountingEncoder()
    embed_to_npy([*TEXTS[:9], "another"], out, _model(encoder), chunk_size=5, progress=False)
    assert len(encoder.calls) == 2


def test_progress_file_records_the_job(tmp_path):
    out = tmp_path / "v.npy"
    embed_to_npy(TEXTS, out, _model(CountingEncoder()), chunk_size=4, progress=False)
    state = json.loads((tmp_path / "v.npy.progress.json").read_text())
    assert state["done"] == 10
    assert state["job"]["model"] == "counting" and state["job"]["rows"] == 10
    assert np.load(out).dtype == np.float32 and np.load(out).shape == (10, 3)


def test_parquet_chunks_cut_exact_chunks_across_batches(tmp_path):
    path = tmp_path / "t.parquet"
    texts = [f"t{i}" for i in range(23)]
    pq.write_table(pa.table({"text": texts}), path, row_group_size=5)
    source = ParquetChunks(path)
    assert len(source) == 23
    assert list(source.chunks(10)) == [(0, texts[0:10]), (10, texts[10:20]), (20, texts[20:23])]
    assert list(source.chunks(10, start=10)) == [(10, texts[10:20]), (20, texts[20:23])]
    assert source.fingerprint() == ListChunks(texts).fingerprint()


def test_query_text_file_one_per_line(tmp_path):
    path = tmp_path / "q.txt"
    path.write_text("graph  neural networks\n\n  dark matter halos \n")
    assert read_text_lines(path) == ["graph neural networks", "dark matter halos"]
    path.write_text("\n  \n")
    with pytest.raises(ConfigError, match="holds no non-blank line"):
        read_text_lines(path)


def test_nothing_to_embed_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="no texts to embed"):
        embed_to_npy([], tmp_path / "v.npy", _model(CountingEncoder()), progress=False)
