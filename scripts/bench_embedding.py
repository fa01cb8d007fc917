"""Embedding builder throughput vs a bare `model.encode` on the same texts (target >= 0.9x).

Usage:
    python scripts/bench_embedding.py [--texts 200] [--batch-size 64] [--chunk-size 1024]
                                      [--device auto] [--repeats 1]

Texts: the abstracts of tests/fixtures/kaggle_snapshot_first200.jsonl (real arXiv records).
Baseline: one `model.encode(texts, batch_size, normalize_embeddings=True)` call, which is
sentence-transformers' own batching loop. Builder: `embed_to_npy` (chunks, memmap writes,
progress file) on the same texts and model. A warm-up encode of all texts runs first and is
excluded; the two are then timed alternately (`time.perf_counter` around each call), and
the best of `--repeats` rounds is reported.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from fanns_bench.data.embedding import embed_to_npy, load_model

SNAPSHOT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "kaggle_snapshot_first200.jsonl"


def abstracts(count: int) -> list[str]:
    lines = SNAPSHOT.read_text(encoding="utf-8").splitlines()
    texts = [" ".join(json.loads(line)["abstract"].split()) for line in lines]
    return (texts * (count // len(texts) + 1))[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--chunk-size", type=int, default=1024)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    import torch

    model = load_model(device=args.device)
    texts = abstracts(args.texts)
    model.encode(texts, args.batch_size)  # warm-up on the same texts and shapes, excluded

    bare, builder = [], []
    for _ in range(args.repeats):
        start = time.perf_counter()
        reference = model.encode(texts, args.batch_size)
        bare.append(time.perf_counter() - start)
        with tempfile.TemporaryDirectory() as scratch:
            out = Path(scratch) / "vectors.npy"
            start = time.perf_counter()
            embed_to_npy(
                texts,
                out,
                model,
                batch_size=args.batch_size,
                chunk_size=args.chunk_size,
                progress=False,
            )
            builder.append(time.perf_counter() - start)
            difference = float(np.abs(np.load(out) - reference).max())
    bare_rate = len(texts) / min(bare)
    builder_rate = len(texts) / min(builder)
    result = {
        "texts": len(texts),
        "model": model.name,
        "device": model.device,
        "torch_threads": torch.get_num_threads(),
        "batch_size": args.batch_size,
        "chunk_size": args.chunk_size,
        "bare_encode_texts_per_s": round(bare_rate, 2),
        "builder_texts_per_s": round(builder_rate, 2),
        "ratio": round(builder_rate / bare_rate, 3),
        "max_abs_difference": difference,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
