"""The method registry: every method, built-in or third-party, is an entry point.

Entry-point group `fanns_bench.methods`: `name = "package.module:Class"`. A plugin ships its
method config as `<name>.yaml` beside the module that defines the class (same format as
`configs/method/*.yaml`); `plugin_configs` finds it, so `method=<name>` works without any
Hydra search path. A plugin that fails to import is reported by name and breaks nothing else.
"""

from __future__ import annotations

import importlib
import importlib.util
import warnings
from dataclasses import dataclass
from functools import cache
from importlib.metadata import EntryPoint, distribution, entry_points, packages_distributions
from pathlib import Path

from fanns_bench.errors import ConfigError, MethodError
from fanns_bench.methods.base import Method
from fanns_bench.methods.provenance import installed_from_local_code, with_code

GROUP = "fanns_bench.methods"
HARNESS = "fanns-bench"  # the distribution of the built-in methods
# Old registry name -> new: `get_method` still answers the old name, with a FutureWarning.
# Result rows keep the name they were written with (a plain string: old rows stay readable).
RENAMED = {
    # one spelling per method: a package's ACORN-1 is <package>_acorn_1, as our acorn_1
    "kannolo_acorn1": "kannolo_acorn_1",
}


@dataclass(frozen=True)
class MethodInfo:
    """What `fanns-bench list` shows about a method."""

    name: str
    target: str
    cls: type[Method] | None
    load_error: str | None

    @property
    def missing(self) -> list[str]:
        return self.cls.missing_dependencies() if self.cls else []

    @property
    def installed(self) -> bool:
        return self.cls is not None and not self.missing


@cache
def _entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def method_names() -> list[str]:
    """Names of every registered method, sorted."""
    return sorted(_entry_points())


def builtin_method_names() -> list[str]:
    """Names the harness itself registers (its own distribution's entry points), sorted."""
    points = _entry_points().items()
    return sorted(name for name, point in points if point.dist is not None and point.dist.name == HARNESS)


def get_method(name: str) -> type[Method]:
    """The class registered under `name`, or named by a `module:Class` import path.

    An unknown name raises `ConfigError`; a class that fails to import, `MethodError`.
    """
    if ":" in name:
        return _import_target(name, name)
    points = _entry_points()
    if name in RENAMED and name not in points:
        warnings.warn(
            f"method {name!r} is now {RENAMED[name]!r}; use the new name", FutureWarning, stacklevel=2
        )
        name = RENAMED[name]
    if name not in points:
        raise ConfigError(f"unknown method {name!r}; registered methods: {', '.join(method_names())}")
    return _import_target(name, points[name].value)


def _import_target(name: str, target: str) -> type[Method]:
    module, _, attribute = target.partition(":")
    try:
        cls = getattr(importlib.import_module(module), attribute)
    except Exception as error:  # a broken plugin must not hide the others
        raise MethodError(f"method {name!r} ({target}) failed to import: {error}") from error
    if not (isinstance(cls, type) and issubclass(cls, Method)):
        raise MethodError(f"method {name!r} ({target}) is not a Method subclass")
    return cls


def describe_methods() -> list[MethodInfo]:
    """One `MethodInfo` per registered method, import failures included."""
    infos = []
    for name in method_names():
        try:
            infos.append(MethodInfo(name, _entry_points()[name].value, get_method(name), None))
        except MethodError as error:
            infos.append(MethodInfo(name, _entry_points()[name].value, None, str(error)))
    return infos


def plugin_config_path(name: str) -> Path | None:
    """`<name>.yaml` beside the module of entry point `name`, if there is one.

    Finds the module's file without importing it (only its parent packages are imported);
    a broken package yields `None` here and is reported by `get_method`.
    """
    point = _entry_points().get(name)
    if point is None:
        return None
    try:
        spec = importlib.util.find_spec(point.value.partition(":")[0])
    except Exception:  # noqa: BLE001 - a broken plugin must not hide the others
        return None
    if spec is None or not spec.origin:
        return None
    path = Path(spec.origin).parent / f"{name}.yaml"
    return path if path.is_file() else None


def plugin_configs() -> dict[str, Path]:
    """Registry name -> the config file a plugin ships beside its module."""
    found = {name: plugin_config_path(name) for name in method_names()}
    return {name: path for name, path in found.items() if path is not None}


def method_distribution(name: str) -> tuple[str, str]:
    """(distribution name, version) of the package that provides method `name`.

    Built-ins report `fanns-bench`; a `module:Class` path reports the distribution that
    installs its top-level module (`unknown` when none does, e.g. a local file). Code
    installed from a local folder (editable or not) or in no distribution has the hash of
    its files appended to the version (`0.1.0+code.<hash>`, see `provenance.py`), so rows
    of changed code get new keys.
    """
    point = _entry_points().get(name)
    module = (point.value if point is not None else name).partition(":")[0]
    dist = point.dist if point is not None else None
    if dist is None:
        names = packages_distributions().get(module.split(".")[0], [])
        dist = distribution(names[0]) if names else None
    if dist is None:
        return "unknown", with_code("unknown", module)
    if dist.name != HARNESS and installed_from_local_code(dist):
        return dist.name, with_code(dist.version, module)
    return dist.name, dist.version
