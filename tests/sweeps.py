"""Helpers to describe small sweeps in tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

FILTERS = [
    {"type": "EM", "template": "eq", "attribute": "category"},
    {"type": "R", "template": "range", "attribute": "score"},
]


def sweep_config(root: Path, methods: dict[str, Any], **runner: Any) -> dict[str, Any]:
    return {
        "experiment": "test",
        "paths": {"root": str(root), "datasets": str(root / "datasets"), "results": str(root / "results")},
        "dataset": {
            "name": "tiny",
            "builder": "synthetic",
            "params": {
                "count": 1200,
                "queries": 40,
                "dimension": 16,
                "latent_dimension": 6,
                "clusters": 8,
                "categories": 6,
                "tags": 10,
                "seed": 1,
            },
        },
        "workload": {
            "name": "w",
            "filters": FILTERS,
            "selectivities": [0.1, 0.5],
            "queries_per_bucket": 8,
            "ground_truth_depth": 20,
        },
        "method": methods,
        # min_repetition_s 0: one pass per repetition, so runner tests stay fast
        "runner": {
            "repetitions": 2,
            "min_repetition_s": 0.0,
            "latency_queries": 3,
            "build_threads": 1,
            **runner,
        },
    }
