"""Declared method parameters: one typed declaration per build and search parameter.

A method lists its parameters once (`Method.build_parameters`, `Method.search_parameters`);
the registry, `fanns-bench validate`, `fanns-bench list --params`, the runner and the
compiled bindings all read that declaration. Unknown names and wrong types are a
`ConfigError` naming the method, the parameter and the valid names.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from fanns_bench.errors import ConfigError

TYPES = {int: "int", float: "float", bool: "bool", str: "str"}


@dataclass(frozen=True)
class Param:
    """One parameter: its type, default, meaning and (optionally) allowed values or bounds."""

    type: type
    default: Any
    help: str
    choices: tuple[Any, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None

    def __post_init__(self) -> None:
        if self.type not in TYPES:
            raise TypeError(f"Param type must be one of {list(TYPES.values())}, got {self.type!r}")

    def describe(self) -> str:
        """`int = 16 (>= 1): meaning` as `fanns-bench list --params` prints it."""
        bounds = []
        if self.choices is not None:
            bounds.append("one of " + ", ".join(repr(c) for c in self.choices))
        if self.minimum is not None:
            bounds.append(f">= {self.minimum:g}")
        if self.maximum is not None:
            bounds.append(f"<= {self.maximum:g}")
        extra = f" ({'; '.join(bounds)})" if bounds else ""
        return f"{TYPES[self.type]} = {self.default!r}{extra}: {self.help}"

    def coerce(self, value: Any) -> Any:
        """`value` as this parameter's type, or `ValueError` saying what was expected."""
        if self.type is bool:
            if not isinstance(value, bool):
                raise ValueError(f"expected true or false, got {value!r}")
        elif self.type is int:
            if isinstance(value, bool) or not isinstance(value, int):
                if not (isinstance(value, float) and value.is_integer()):
                    raise ValueError(f"expected an integer, got {value!r}")
            value = int(value)
        elif self.type is float:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"expected a number, got {value!r}")
            value = float(value)
        elif not isinstance(value, str):
            raise ValueError(f"expected a string, got {value!r}")
        if self.choices is not None and value not in self.choices:
            raise ValueError(f"expected one of {list(self.choices)}, got {value!r}")
        if self.minimum is not None and value < self.minimum:
            raise ValueError(f"expected >= {self.minimum:g}, got {value!r}")
        if self.maximum is not None and value > self.maximum:
            raise ValueError(f"expected <= {self.maximum:g}, got {value!r}")
        return value


def resolve(
    method: str, kind: str, declared: Mapping[str, Param], given: Mapping[str, Any]
) -> dict[str, Any]:
    """`given` checked against `declared` and completed with defaults (sorted by name).

    `kind` is `build` or `search` (used in messages).
    """
    check_names(method, kind, declared, given)
    values = {}
    for name, param in declared.items():
        value = given.get(name, param.default)
        try:
            values[name] = param.coerce(value)
        except ValueError as error:
            raise ConfigError(f"method {method!r}: {kind} parameter {name!r}: {error}") from None
    return dict(sorted(values.items()))


def check_grid(method: str, kind: str, declared: Mapping[str, Param], grid: Mapping[str, Any]) -> None:
    """Check every value of a config grid (`name: value` or `name: [values]`) before anything runs."""
    check_names(method, kind, declared, grid)
    for name, values in grid.items():
        for value in values if isinstance(values, list | tuple) else [values]:
            try:
                declared[name].coerce(value)
            except ValueError as error:
                raise ConfigError(f"method {method!r}: {kind} parameter {name!r}: {error}") from None


def check_names(method: str, kind: str, declared: Mapping[str, Param], given: Iterable[str]) -> None:
    _check_names(f"method {method!r}: unknown {kind} parameter", declared, given)


def _check_names(prefix: str, declared: Mapping[str, Any], given: Iterable[str]) -> None:
    """`ConfigError` `PREFIX 'name' (did you mean ...?); valid: ...` for the first unknown name."""
    unknown = sorted(set(given) - set(declared))
    if not unknown:
        return
    name = unknown[0]
    close = difflib.get_close_matches(name, list(declared), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    valid = ", ".join(sorted(declared)) or "none"
    raise ConfigError(f"{prefix} {name!r}{hint}; valid: {valid}")


def check_settings(
    section: str, declared: Mapping[str, Param | tuple[Param]], given: Mapping[str, Any]
) -> dict[str, Any]:
    """A settings section (e.g. `runner`) checked like method parameters, completed with
    defaults: `ConfigError` `SECTION.KEY: expected ..., got ...` on the first bad value.
    A value declared as `(Param,)` is a list of such values (a scalar is a one-item list)."""
    _check_names(f"{section}: unknown key", declared, given)
    values = {}
    for name, spec in declared.items():
        param = spec[0] if isinstance(spec, tuple) else spec
        value = given.get(name, param.default)
        try:
            if isinstance(spec, tuple):
                items = list(value) if isinstance(value, list | tuple) else [value]
                if not items:
                    raise ValueError("expected at least one value, got []")
                values[name] = [param.coerce(item) for item in items]
            else:
                values[name] = None if value is None and param.default is None else param.coerce(value)
        except ValueError as error:
            raise ConfigError(f"{section}.{name}: {error}") from None
    return values


def defaults(declared: Mapping[str, Param]) -> dict[str, Any]:
    """Every declared parameter at its default."""
    return {name: param.default for name, param in sorted(declared.items())}
