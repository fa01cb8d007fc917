"""A routing policy: per filter type, which method and parameters answer which selectivities.

Written by `fanns-bench recommend --out`, read by the `router` method. The file is YAML:

    recall: 0.9                        # the target it was chosen for
    source: results/laptop             # where the rows came from
    commits: [d7c8cb1]                 # the code the rows were measured with (git_commit)
    limits: {memory_gb: null, build_s: null}
    filter_types:
      EM:
        shapes: ["eq(category)"]       # predicate forms of this type (filters/shape.py)
        routes:                        # by increasing max_selectivity; the last one covers the rest
          - {max_selectivity: 0.0316, method: exact, build: {}, search: {}, buckets: [0.001, 0.01]}
          - {max_selectivity: 1.0, method: ung, build: {...}, search: {L_search: 50}, buckets: [0.1, 0.5]}

A query of selectivity s goes to the first route with s <= max_selectivity (the last route
when s is above them all). Bad files raise `ConfigError` naming the file and the field.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from fanns_bench.atomic_files import write_text_atomic
from fanns_bench.errors import ConfigError


def params_text(params: dict[str, Any]) -> str:
    """Parameters as compact, key-sorted JSON (how result rows spell them)."""
    return json.dumps(params, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class Route:
    """One selectivity range of a filter type and the configuration that answers it."""

    max_selectivity: float
    method: str
    build: dict[str, Any] = field(default_factory=dict)
    search: dict[str, Any] = field(default_factory=dict)
    buckets: tuple[float, ...] = ()  # the measured buckets the range was chosen on

    @cached_property  # asked per query batch by the router (inside the timed qps): once per route
    def build_key(self) -> tuple[str, str]:
        """What identifies one built index: the method and its build parameters."""
        return self.method, params_text(self.build)

    @cached_property
    def label(self) -> str:
        """`method {build} {search}`: the name the router's counters use."""
        return f"{self.method} {params_text(self.build)} {params_text(self.search)}"


@dataclass(frozen=True)
class Policy:
    """Routes per filter type (see module docstring)."""

    routes: dict[str, tuple[Route, ...]]
    shapes: dict[str, tuple[str, ...]]
    recall: float
    source: str = ""
    limits: dict[str, float | None] = field(default_factory=dict)
    commits: tuple[str, ...] = ()  # the rows' git_commit values (none recorded: empty)

    def route(self, filter_type: str, selectivity: float) -> Route:
        """The route of a query of `filter_type` matching a `selectivity` share of the items."""
        routes = self.routes[filter_type]
        return next((r for r in routes if selectivity <= r.max_selectivity), routes[-1])

    def filter_type_of(self) -> dict[str, str]:
        """Predicate form -> the filter type it belongs to."""
        return {shape: filter_type for filter_type, shapes in self.shapes.items() for shape in shapes}

    def builds(self) -> list[Route]:
        """One route per distinct (method, build parameters), in policy order."""
        seen: dict[tuple[str, str], Route] = {}
        for routes in self.routes.values():
            for route in routes:
                seen.setdefault(route.build_key, route)
        return list(seen.values())


def write_policy(policy: Policy, path: Path, header: str = "") -> Path:
    """Write `policy` to `path` as YAML, atomically; `header`: comment lines above it."""
    data = {
        "recall": policy.recall,
        "source": policy.source,
        "commits": list(policy.commits),
        "limits": dict(policy.limits),
        "filter_types": {
            filter_type: {
                "shapes": list(policy.shapes.get(filter_type, ())),
                "routes": [
                    {
                        "max_selectivity": r.max_selectivity,
                        "method": r.method,
                        "build": dict(r.build),
                        "search": dict(r.search),
                        "buckets": list(r.buckets),
                    }
                    for r in routes
                ],
            }
            for filter_type, routes in policy.routes.items()
        },
    }
    comment = "".join(f"# {line}\n" for line in header.splitlines())
    return write_text_atomic(path, comment + yaml.safe_dump(data, sort_keys=False, width=120))


def read_policy(path: Path) -> Policy:
    """The policy in `path`; a missing, unparsable or malformed file raises `ConfigError`."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"policy {path}: cannot read it ({error.strerror or error})") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"policy {path}: not valid YAML ({str(error).splitlines()[0]})") from None
    where = f"policy {path}"
    data = _mapping(data, where)
    types = _mapping(data.get("filter_types"), f"{where}: filter_types")
    if not types:
        raise ConfigError(f"{where}: filter_types is empty; expected at least one filter type")
    routes, shapes = {}, {}
    for filter_type, entry in types.items():
        at = f"{where}: filter_types.{filter_type}"
        entry = _mapping(entry, at)
        routes[str(filter_type)] = _routes(entry.get("routes"), f"{at}.routes")
        shapes[str(filter_type)] = _strings(entry.get("shapes", []), f"{at}.shapes")
    recall = _number(data.get("recall"), f"{where}: recall")
    commits = _strings(data.get("commits", []), f"{where}: commits", "commit ids")
    limits = dict(data.get("limits") or {})
    policy = Policy(routes, shapes, recall, str(data.get("source", "")), limits, commits)
    _check_shapes(policy, where)
    return policy


def _routes(value: Any, where: str) -> tuple[Route, ...]:
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{where}: expected a non-empty list of routes, got {value!r}")
    routes = []
    for i, item in enumerate(value):
        at = f"{where}[{i}]"
        item = _mapping(item, at)
        method = item.get("method")
        if not isinstance(method, str) or not method:
            raise ConfigError(f"{at}.method: expected a method name, got {method!r}")
        routes.append(
            Route(
                _number(item.get("max_selectivity"), f"{at}.max_selectivity"),
                method,
                _mapping(item.get("build", {}), f"{at}.build"),
                _mapping(item.get("search", {}), f"{at}.search"),
                tuple(_number(b, f"{at}.buckets") for b in item.get("buckets") or ()),
            )
        )
    bounds = [r.max_selectivity for r in routes]
    if bounds != sorted(bounds):
        raise ConfigError(f"{where}: max_selectivity must increase from route to route, got {bounds}")
    return tuple(routes)


def _check_shapes(policy: Policy, where: str) -> None:
    owners: dict[str, str] = {}
    for filter_type, shapes in policy.shapes.items():
        for shape in shapes:
            if shape in owners:
                raise ConfigError(
                    f"{where}: predicate form {shape!r} is listed under filter types {owners[shape]!r} "
                    f"and {filter_type!r}; a query must map to one"
                )
            owners[shape] = filter_type


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a mapping, got {value!r}")
    return value


def _strings(value: Any, where: str, what: str = "predicate forms") -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: expected a list of {what}, got {value!r}")
    return tuple(value)


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"{where}: expected a number, got {value!r}")
    return float(value)
