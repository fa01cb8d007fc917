"""Sweep expansion: method configs -> build jobs -> measurement points, each with a stable key."""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

import fanns_bench
from fanns_bench.errors import ConfigError

DEFAULT_TIMEOUT_S = 3600
METHOD_KEYS = {"name", "build", "search", "timeout_s", "notes", "conformance"}


def expand_grid(grid: dict[str, Any] | None, where: str) -> list[dict[str, Any]]:
    """Cartesian product of a {param: [values]} grid (a scalar is a one-value list)."""
    if not grid:
        return [{}]
    if not isinstance(grid, dict):
        raise ConfigError(f"{where}: expected a mapping of parameter -> list of values, got {grid!r}")
    names = sorted(grid)
    values = [v if isinstance(v, list | tuple) else [v] for v in (grid[n] for n in names)]
    for name, options in zip(names, values, strict=True):
        if not options:
            raise ConfigError(f"{where}: parameter {name!r} has an empty list of values")
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*values)]


def canonical(params: dict[str, Any]) -> str:
    """Sorted-key compact JSON: the stable text form of a parameter set."""
    return json.dumps(params, sort_keys=True, separators=(",", ":"), default=str)


@dataclass(frozen=True)
class Point:
    """One measurement: search params x threads x filter group x k on one build."""

    search_params: dict[str, Any]
    threads: int
    filter_type: str
    bucket: float
    k: int
    key: str


@dataclass
class BuildJob:
    """One index build of one method, and every measurement taken on it."""

    method_key: str  # the config entry (usually the registry name)
    method_name: str  # the registry name
    build_params: dict[str, Any]
    search_grid: list[dict[str, Any]]
    timeout_s: float
    points: list[Point] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.method_key} {canonical(self.build_params)}"


def measurement_key(
    *,
    dataset_hash: str,
    workload_digest: str,
    method_key: str,
    build_params: dict[str, Any],
    search_params: dict[str, Any],
    threads: int,
    filter_type: str,
    bucket: float,
    k: int,
) -> str:
    """Stable hash of everything that defines a measurement (and the harness version)."""
    text = canonical(
        {
            "dataset": dataset_hash,
            "workload": workload_digest,
            "method": method_key,
            "build": build_params,
            "search": search_params,
            "threads": threads,
            "filter_type": filter_type,
            "bucket": round(bucket, 12),
            "k": k,
            "version": fanns_bench.__version__,
        }
    )
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def build_jobs(
    methods: dict[str, Any],
    groups: list[tuple[str, float]],
    ks: list[int],
    search_threads: list[int],
    dataset_hash: str,
    workload_digest: str,
) -> list[BuildJob]:
    """Every build job of the sweep with its measurement points."""
    jobs = []
    for method_key, config in methods.items():
        config = dict(config or {})
        unknown = set(config) - METHOD_KEYS
        if unknown:
            raise ConfigError(f"method {method_key!r}: unknown config keys {sorted(unknown)}")
        where = f"configs/method/{method_key}.yaml"
        for build_params in expand_grid(config.get("build"), f"{where} build"):
            job = BuildJob(
                method_key,
                config.get("name", method_key),
                build_params,
                expand_grid(config.get("search"), f"{where} search"),
                float(config.get("timeout_s", DEFAULT_TIMEOUT_S)),
            )
            for search_params, threads, (filter_type, bucket), k in itertools.product(
                job.search_grid, search_threads, groups, ks
            ):
                key = measurement_key(
                    dataset_hash=dataset_hash,
                    workload_digest=workload_digest,
                    method_key=method_key,
                    build_params=build_params,
                    search_params=search_params,
                    threads=threads,
                    filter_type=filter_type,
                    bucket=bucket,
                    k=k,
                )
                job.points.append(Point(search_params, threads, filter_type, bucket, k, key))
            jobs.append(job)
    return jobs
