"""Pre-flight checks of a composed config: one clear message per problem, before anything runs."""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fanns_bench.data.builders import BUILDERS
from fanns_bench.errors import ConfigError, FannsBenchError
from fanns_bench.filters.evaluate import ACCEPTS
from fanns_bench.filters.predicates import And, Contains, Eq, Predicate, Range
from fanns_bench.methods.base import Method
from fanns_bench.methods.params import check_grid, check_names
from fanns_bench.methods.registry import RENAMED, get_method, method_names
from fanns_bench.runner.plan import build_jobs, canonical
from fanns_bench.runner.run import RunSettings
from fanns_bench.workloads.templates import FilterSpec
from fanns_bench.workloads.workload import WorkloadSpec

PATH_PARAMS = ("path", "dump", "source", "location", "directory", "file")
MISSING_KEY = re.compile(r"config: Could not override '([^']+)'\.\nTo append to your config use (\S+)")
TEMPLATE_OPS = {"eq": "eq", "range": "range", "contains": "contains"}


@dataclass(frozen=True)
class Problem:
    """`error`s stop a run; `warning`s (e.g. an unsupported filter type) become result rows."""

    level: str
    message: str

    def __str__(self) -> str:
        return f"[{self.level}] {self.message}"


def validate_config(arguments: list[str]) -> list[Problem]:
    """Compose the config from CLI arguments and check it."""
    from fanns_bench.configs import compose

    try:
        config = compose(arguments)
    except FannsBenchError as error:
        return [Problem("error", _explain_compose_error(str(error)))]
    return check_config(config)


def problems_in(config: dict[str, Any]) -> list[str]:
    """The errors (not warnings) of a composed config, as messages."""
    return [p.message for p in check_config(config) if p.level == "error"]


def check_config(config: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    settings = _check_runner(config, problems)
    kinds = _check_dataset(config.get("dataset") or {}, config.get("paths") or {}, problems)
    spec = _check_workload(config.get("workload") or {}, kinds, settings, problems)
    _check_methods(config.get("method") or {}, spec, kinds, problems)
    return problems


def _check_runner(config: dict[str, Any], problems: list[Problem]) -> RunSettings | None:
    paths = config.get("paths") or {}
    try:
        return RunSettings.from_config(
            dict(config.get("runner") or {}),
            paths.get("results", "."),
            paths.get("datasets", "."),
            config.get("experiment", ""),
        )
    except FannsBenchError as error:
        problems.append(Problem("error", str(error)))
        return None


def _check_dataset(
    dataset: dict[str, Any], paths: dict[str, Any], problems: list[Problem]
) -> dict[str, str] | None:
    """Known builder, input files present, a built copy loadable; returns attribute kinds."""
    name, builder = dataset.get("name"), dataset.get("builder")
    if not name or not builder:
        problems.append(Problem("error", "dataset config needs 'name' and 'builder'"))
        return None
    if builder not in BUILDERS:
        problems.append(
            Problem(
                "error",
                f"dataset {name!r}: unknown builder {builder!r}; known "
                f"builders: {', '.join(sorted(BUILDERS))}",
            )
        )
        return None
    for key, value in (dataset.get("params") or {}).items():
        if any(word in key for word in PATH_PARAMS) and isinstance(value, str) and value:
            if not Path(value).exists() and not _hub_name(builder, key, value):
                problems.append(
                    Problem("error", f"dataset {name!r}: params.{key} = {value!r} does not exist")
                )
    built = Path(paths.get("datasets", "datasets")) / (dataset.get("directory") or name)
    if (built / "manifest.json").is_file():
        from fanns_bench.data.dataset import load_dataset

        try:
            loaded = load_dataset(built)
        except FannsBenchError as error:
            problems.append(Problem("error", f"dataset {name!r}: {error}"))
            return None
        if note := loaded.edit_note():
            problems.append(Problem("warning", note))
        return loaded.attributes.kinds
    module = importlib.import_module(BUILDERS[builder].partition(":")[0])
    if hasattr(module, "attribute_kinds"):  # kinds that depend on the builder's params
        return module.attribute_kinds(dataset.get("params") or {})
    return getattr(module, "ATTRIBUTE_KINDS", None)


def _hub_name(builder: str, key: str, value: str) -> bool:
    """A `table` source that names a Hugging Face Hub dataset (no local path to check)."""
    if builder != "table" or key != "source":
        return False
    from fanns_bench.data.table_source import source_kind

    try:
        return source_kind(value) == "hub"
    except FannsBenchError:
        return False


def _check_workload(
    workload: dict[str, Any],
    kinds: dict[str, str] | None,
    settings: RunSettings | None,
    problems: list[Problem],
) -> WorkloadSpec | None:
    try:
        spec = WorkloadSpec.from_config(dict(workload))
    except FannsBenchError as error:
        problems.append(Problem("error", str(error)))
        return None
    if settings and max(settings.k) > spec.ground_truth_depth:
        problems.append(
            Problem(
                "error",
                f"runner.k={max(settings.k)} exceeds workload.ground_truth_depth={spec.ground_truth_depth}",
            )
        )
    if kinds is None:
        return spec
    for filter_spec in spec.filters:
        for part in filter_spec.parts or (filter_spec,):
            if part.template in ("none", "and") or part.attribute is None:
                continue
            if part.attribute not in kinds:
                problems.append(
                    Problem(
                        "error",
                        (
                            f"workload {spec.name!r}, filter {filter_spec.type!r}: unknown attribute "
                            f"{part.attribute!r}; the dataset has {', '.join(sorted(kinds))}"
                        ),
                    )
                )
            elif (
                part.template in TEMPLATE_OPS
                and kinds[part.attribute] not in ACCEPTS[TEMPLATE_OPS[part.template]]
            ):
                problems.append(
                    Problem(
                        "error",
                        (
                            f"workload {spec.name!r}, filter {filter_spec.type!r}: template "
                            f"{part.template!r} cannot apply to {kinds[part.attribute]} attribute "
                            f"{part.attribute!r}"
                        ),
                    )
                )
    return spec


def _check_methods(
    methods: dict[str, Any],
    spec: WorkloadSpec | None,
    kinds: dict[str, str] | None,
    problems: list[Problem],
) -> None:
    if not methods:
        problems.append(Problem("error", "no method selected (method=[...])"))
    for key, config in methods.items():
        config = dict(config or {})
        name = config.get("name", key)
        if ":" not in name and name not in method_names():
            problems.append(
                Problem(
                    "error",
                    f"method {name!r} is now {RENAMED[name]!r}; use the new name"
                    if name in RENAMED
                    else f"unknown method {name!r}; registered methods: {', '.join(method_names())}",
                )
            )
            continue
        try:
            cls = get_method(name)
            _check_grids(name, cls, config)
            jobs = build_jobs({key: config}, [], [1], [1], "", "")
            builds = [(job.build_params, cls(metric="ip", threads=1, **job.build_params)) for job in jobs]
        except FannsBenchError as error:
            problems.append(Problem("error", str(error)))
            continue
        except (TypeError, ValueError) as error:  # a constructor that checks its own arguments
            problems.append(Problem("error", f"method {name!r}: build parameters rejected: {error}"))
            continue
        missing = cls.missing_dependencies()
        if missing:
            hint = f" (pip install 'fanns-bench[{cls.extra}]')" if cls.extra else ""
            problems.append(
                Problem(
                    "warning",
                    f"method {name!r} is not installed: missing {', '.join(missing)}{hint}",
                )
            )
        if spec is None or kinds is None:
            continue
        supports = [(params, _support(method, spec, kinds)) for params, method in builds]
        useless = [(p, reasons) for p, reasons in supports if reasons and all(r for _, r in reasons)]
        for params, reasons in useless:
            message = _answers_nothing(key, name, spec, reasons, params, kinds)
            if len(useless) == len(supports):  # no build of the grid answers anything
                problems.append(Problem("error", message))
                break
            problems.append(Problem("warning", f"build {canonical(params)}: {message}"))
        if len(useless) == len(supports):
            continue
        reasons = next(r for p, r in supports if (p, r) not in useless)
        for filter_type, reason in reasons:
            if reason:
                problems.append(
                    Problem(
                        "warning",
                        (
                            f"method {name!r} does not support filter type {filter_type!r} "
                            f"({reason}); it will be recorded as unsupported"
                        ),
                    )
                )


def _support(method: Method, spec: WorkloadSpec, kinds: dict[str, str]) -> list[tuple[str, str | None]]:
    """Per filter of the workload (several may share a type): its type, and why `method`
    cannot answer it (None: it can, or it cannot be told before the build)."""
    reasons = []
    for filter_spec in spec.filters:
        predicate = _representative(filter_spec, kinds)
        reason = method.unsupported_reason(predicate, kinds) if predicate != "?" else None
        reasons.append((filter_spec.type, reason))
    return reasons


def _answers_nothing(
    key: str,
    name: str,
    spec: WorkloadSpec,
    reasons: list[tuple[str, str | None]],
    build_params: dict[str, Any],
    kinds: dict[str, str],
) -> str:
    """One line: the method answers no filter type of the workload, why, and the fix."""
    why = "; ".join(dict.fromkeys(r for _, r in reasons if r))
    types = ", ".join(dict.fromkeys(t for t, _ in reasons))
    ordered = sorted(a for a, kind in kinds.items() if kind == "ordered")
    ranged = [
        p.attribute
        for f in spec.filters
        for p in f.parts or (f,)
        if p.template == "range" and p.attribute in ordered
    ]
    if "attribute" in build_params and ordered and build_params["attribute"] not in ordered:
        suggested = (ranged or ordered)[0]
        fix = f"set method.{key}.build.attribute=[{suggested}] (an ordered attribute of this dataset)"
    else:
        fix = f"change its build parameters (method.{key}.build.*) or leave it out of method=[...]"
    return (
        f"method {name!r} answers none of the filter types of workload {spec.name!r} "
        f"({types}), so every row would be unsupported: {why}; {fix}"
    )


def _check_grids(name: str, cls: type[Method], config: dict[str, Any]) -> None:
    """Every build and search parameter of the config is declared by the method, with a valid
    value; so are those of its `conformance:` block (one point each: single values)."""
    for kind in ("build", "search"):
        declared = getattr(cls, f"{kind}_parameters", None)
        grid = config.get(kind) or {}
        if declared is not None and isinstance(grid, dict):
            check_grid(cls.name or name, kind, declared, grid)
    _check_conformance_block(cls.name or name, cls, config.get("conformance"))


def _check_conformance_block(name: str, cls: type[Method], block: Any) -> None:
    """`conformance: {build: {...}, search: {...}, known_limits: {<filter type>: <reason>}}`."""
    from fanns_bench.conformance import CONFORMANCE_KEYS, SHAPES

    if block is None:
        return
    where = f"method {name!r}: conformance"
    if not isinstance(block, dict):
        raise ConfigError(f"{where}: expected a mapping with keys {sorted(CONFORMANCE_KEYS)}, got {block!r}")
    unknown = sorted(set(block) - CONFORMANCE_KEYS)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key {unknown[0]!r}; valid: {', '.join(sorted(CONFORMANCE_KEYS))}"
        )
    for kind in ("build", "search"):
        point = block.get(kind) or {}
        if not isinstance(point, dict) or any(isinstance(v, list | tuple) for v in point.values()):
            raise ConfigError(f"{where}.{kind}: expected one value per parameter, got {point!r}")
        check_grid(name, f"conformance {kind}", getattr(cls, f"{kind}_parameters", {}), point)
    limits = block.get("known_limits") or {}
    if not isinstance(limits, dict):
        raise ConfigError(f"{where}.known_limits: expected <filter type>: <reason>, got {limits!r}")
    for shape, reason in limits.items():
        if shape not in SHAPES:
            raise ConfigError(
                f"{where}.known_limits: unknown filter type {shape!r}; valid: {', '.join(SHAPES)}"
            )
        if not isinstance(reason, str) or not reason.strip():
            raise ConfigError(f"{where}.known_limits.{shape}: expected a reason (text), got {reason!r}")


def _representative(filter_spec: FilterSpec, kinds: dict[str, str]) -> Predicate | None | str:
    """A predicate of the filter's shape (values are placeholders), for capability checks."""
    if filter_spec.template == "none":
        return None
    if filter_spec.template == "and":
        parts = [_representative(p, kinds) for p in filter_spec.parts]
        return "?" if "?" in parts else And(tuple(parts))
    if filter_spec.attribute not in kinds:
        return "?"
    make = {
        "eq": lambda a: Eq(a, 0),
        "range": lambda a: Range(a, 0, 1),
        "contains": lambda a: Contains(a, ""),
    }
    return make[filter_spec.template](filter_spec.attribute) if filter_spec.template in make else "?"


def _explain_missing_key(key: str, append: str) -> str:
    """An override of a key the config lacks: a misspelt method parameter names its valid ones."""
    parts = key.split(".")
    if len(parts) == 4 and parts[0] == "method" and parts[2] in ("build", "search"):
        try:
            cls = get_method(parts[1])
            check_names(cls.name, parts[2], getattr(cls, f"{parts[2]}_parameters"), [parts[3]])
        except FannsBenchError as error:
            return str(error)
    return f"config has no key {key!r}; to add one, write {append}"


def _explain_compose_error(message: str) -> str:
    """Hydra's 'could not find method/x' names the group: add the available options."""
    from fanns_bench.configs import GROUPS, group_options

    message = message.split("\nConfig search path")[0].split("\n\nAvailable options")[0].strip()
    missing_key = MISSING_KEY.match(message)
    if missing_key:
        return _explain_missing_key(*missing_key.groups())
    for group in GROUPS:
        if f"{group}/" in message:
            return f"{message}\n  available {group} configs: {', '.join(group_options(group))}"
    return message
