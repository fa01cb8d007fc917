"""Sweep expansion: method configs -> build jobs -> measurement points, each with a stable key."""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import fanns_bench
from fanns_bench.errors import ConfigError
from fanns_bench.methods.params import Param, resolve

if TYPE_CHECKING:
    from fanns_bench.methods.base import Method

DEFAULT_TIMEOUT_S = 3600
TIMEOUT = Param(float, DEFAULT_TIMEOUT_S, "wall-clock limit of one build job (build + search)", minimum=1)
#: bumped whenever what a row measures changes (timing, filter costs, recall, memory), so rows
#: measured another way are never reused or pooled with new ones (tests/runner/test_methodology.py
#: pins the code that measures: a change there fails until someone decides whether to bump)
METHODOLOGY_VERSION = 9  # 3: thread caps enforced, memory of the whole process group above a baseline
# 4: repetitions repeat the batch to runner.min_repetition_s, the two kinds alternate, CPU time
# 5: repetitions interleaved in rounds across a job's points (runner.interleave), drift and probe
# 6: the job's probe timed warm; runner.pin_cpus (search phases pinned) in the measurement key
# 7: an interleaved repetition of a short pass (< 50 ms) starts with one untimed pass of its point
# 8: no memory sample of the job's processes during a timed repetition, latency pass or probe
# 9: range filters' positions found with one pair of searches a batch and handed over as two
#    arrays, the ACORN reference methods' byte maps, the router's routing once per batch form
#    (the range methods', acorn_*_ref's and the router's filter costs; 7b16a00..581760f)
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


@dataclass(frozen=True)
class MethodSpec:
    """A method looked up once, in the plan: its class and what the runner and the rows need
    of it. Pickles as plain data (a spawned worker looks the class up once, in `load`)."""

    name: str  # the registry name (or a `module:Class` path)
    package: str  # distribution that provides it ("" when unknown)
    version: str
    threading: str  # Method.threading
    fixed_thread_pool: bool  # Method.fixed_thread_pool
    requires: tuple[str, ...]  # Method.requires
    cls: type[Method] | None = field(default=None, compare=False, repr=False)
    libraries: str = ""  # "dist==version, ..." of what `requires` imports from other packages

    @classmethod
    def of(cls, name: str) -> MethodSpec:
        """Look `name` up in the registry (ConfigError/MethodError when it cannot be)."""
        from fanns_bench.methods.registry import get_method, method_distribution
        from fanns_bench.runner.environment import library_versions

        method_cls = get_method(name)
        package, version = method_distribution(name)
        revision = getattr(method_cls, "revision", 0)
        return cls(
            name,
            package,
            f"{version}+r{revision}" if revision else version,
            method_cls.threading,
            bool(method_cls.fixed_thread_pool),
            tuple(method_cls.requires),
            method_cls,
            library_versions(tuple(method_cls.requires), package),
        )

    @property
    def method_version(self) -> str:
        """The method's identity in its rows' keys: its package's version and the versions of
        the libraries it wraps (a faiss upgrade under `faiss_hnsw` measures it again)."""
        own = f"{self.package}=={self.version}"
        return f"{own}; {self.libraries}" if self.libraries else own

    def load(self) -> type[Method]:
        """The method's class: the plan's own, or (in a spawned worker) looked up once."""
        if self.cls is None:
            from fanns_bench.methods.registry import get_method

            object.__setattr__(self, "cls", get_method(self.name))
        return self.cls  # type: ignore[return-value]

    def __reduce__(self) -> tuple[Any, ...]:
        fields = (self.name, self.package, self.version, self.threading, self.fixed_thread_pool)
        return (MethodSpec, (*fields, self.requires))


@dataclass
class BuildJob:
    """One index build of one method, and every measurement taken on it."""

    method_key: str  # the config entry (usually the registry name)
    method: MethodSpec  # the registry's method, looked up once
    build_params: dict[str, Any]
    search_grid: list[dict[str, Any]]
    timeout_s: float
    points: list[Point] = field(default_factory=list)
    build_repeat: int = 0  # which repeated build of this configuration (runner.builds)

    @property
    def label(self) -> str:
        repeat = f" build {self.build_repeat}" if self.build_repeat else ""
        return f"{self.method_key} {canonical(self.build_params)}{repeat}"


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
    method_version: str = "",
    measurement: dict[str, Any] | None = None,
    build_repeat: int = 0,
) -> str:
    """Stable hash of everything that defines a measurement: data, workload, method and its
    package version, parameters, threads, k, the runner's measurement settings and the
    harness's version and methodology version. A repeated build (`build_repeat` > 0,
    `runner.builds` > 1) adds its number, so the first build's keys are those of a run
    that builds once."""
    repeat = {"build_repeat": build_repeat} if build_repeat else {}
    text = canonical(
        {
            **repeat,
            "dataset": dataset_hash,
            "workload": workload_digest,
            "method": method_key,
            "build": build_params,
            "search": search_params,
            "threads": threads,
            "filter_type": filter_type,
            "bucket": round(bucket, 12),
            "k": k,
            "method_version": method_version,
            "measurement": measurement or {},
            "version": fanns_bench.__version__,
            "methodology": METHODOLOGY_VERSION,
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
    measurement: dict[str, Any] | None = None,
    builds: int = 1,
) -> list[BuildJob]:
    """Every build job of the sweep with its measurement points.

    Parameters are checked against each method's declaration and completed with its
    defaults, so rows and keys name every parameter a build or search ran with.
    `measurement` holds the runner settings that change what a row measures. Each build
    configuration is built `builds` times (`build_repeat` 0..builds-1), each measured.
    """
    jobs = []
    for method_key, config in methods.items():
        config = dict(config or {})
        unknown = set(config) - METHOD_KEYS
        if unknown:
            raise ConfigError(f"method {method_key!r}: unknown config keys {sorted(unknown)}")
        where = f"configs/method/{method_key}.yaml"
        try:
            timeout_s = TIMEOUT.coerce(config.get("timeout_s", DEFAULT_TIMEOUT_S))
        except ValueError as error:
            raise ConfigError(f"method {method_key!r}: timeout_s: {error}") from None
        method = MethodSpec.of(config.get("name", method_key))
        cls = method.load()
        search_grid = [
            resolve(method_key, "search", cls.search_parameters, p)
            for p in expand_grid(config.get("search"), f"{where} search")
        ]
        for given, repeat in itertools.product(
            expand_grid(config.get("build"), f"{where} build"), range(builds)
        ):
            build_params = resolve(method_key, "build", cls.build_parameters, given)
            job = BuildJob(
                method_key,
                method,
                build_params,
                search_grid,
                timeout_s,
                build_repeat=repeat,
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
                    method_version=method.method_version,
                    measurement=measurement,
                    build_repeat=repeat,
                )
                job.points.append(Point(search_params, threads, filter_type, bucket, k, key))
            jobs.append(job)
    return jobs
